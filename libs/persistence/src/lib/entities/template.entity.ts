import { type Language, type TemplateLimits, type TemplateRuntimes } from '@sandbox/domain';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ name: 'templates' })
// the seed's inline UNIQUE creates an index MariaDB names after the column
@Index('name', ['name'], { unique: true })
@Index('idx_name', ['name'])
export class TemplateEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ type: 'varchar', length: 256 })
  image!: string;

  @Column({ name: 'base_image', type: 'varchar', length: 256, nullable: true })
  baseImage!: string | null;

  @Column({ type: 'varchar', length: 16, default: 'python' })
  language!: Language;

  @Column({ name: 'pre_installed_packages', type: 'json', nullable: true })
  preInstalledPackages!: string[] | null;

  @Column({ name: 'default_resources_cpu', type: 'varchar', length: 16, nullable: true })
  defaultResourcesCpu!: string | null;

  @Column({ name: 'default_resources_memory', type: 'varchar', length: 16, nullable: true })
  defaultResourcesMemory!: string | null;

  @Column({ name: 'default_resources_disk', type: 'varchar', length: 16, nullable: true })
  defaultResourcesDisk!: string | null;

  @Column({ name: 'security_context', type: 'json', nullable: true })
  securityContext!: Record<string, unknown> | null;

  @Column({ type: 'json', nullable: true })
  limits!: TemplateLimits | null;

  @Column({ type: 'json', nullable: true })
  runtimes!: TemplateRuntimes | null;

  @Column({ name: 'created_at', type: 'timestamp', default: () => 'CURRENT_TIMESTAMP' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamp', default: () => 'CURRENT_TIMESTAMP', onUpdate: 'CURRENT_TIMESTAMP' })
  updatedAt!: Date;
}
