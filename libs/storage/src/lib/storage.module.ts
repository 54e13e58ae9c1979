import { type DynamicModule, Inject, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type StorageConfig } from '@sandbox/config';
import { createWorkspaceStore } from './create-workspace-store';
import { type WorkspaceStore } from './workspace-store';

/** Injection token of the app's WorkspaceStore. */
export const WORKSPACE_STORE = Symbol('WORKSPACE_STORE');

/**
 * The WorkspaceStore the settings name, for the apps: prepared at start (a store that cannot be
 * reached then is reported, not fatal: executions without files still work, file operations answer
 * 503 until it is back), closed at shutdown.
 */
@Module({})
export class StorageModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(WORKSPACE_STORE) private readonly store: WorkspaceStore) {}

  static forRoot(config: StorageConfig): DynamicModule {
    return {
      module: StorageModule,
      global: true,
      providers: [{ provide: WORKSPACE_STORE, useFactory: () => createWorkspaceStore(config) }],
      exports: [WORKSPACE_STORE],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.store.prepare();
    } catch (e) {
      new Logger(StorageModule.name).error(`workspace store ${this.store.uri('')} is not usable yet: ${(e as Error).message}`);
    }
  }

  onApplicationShutdown(): void {
    this.store.close();
  }
}
