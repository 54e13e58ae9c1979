import { hostileSuite } from './hostile-suite';

hostileSuite({ name: 'docker', setUp: async () => ({}), tearDown: async () => undefined });
