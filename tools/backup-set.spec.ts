import { backupTime, expiredBackups } from './backup-set';

describe('backup retention', () => {
  const day = 86_400_000;
  const now = Date.UTC(2026, 11, 10, 2, 0, 0);
  const names = ['20261210T020000Z', '20261209T020000Z', '20261208T020000Z', '20261101T020000Z'];

  it('reads the UTC start from a name, and refuses anything else', () => {
    expect(backupTime('20261210T020000Z')).toBe(now);
    expect(() => backupTime('20261210T020000Z.partial')).toThrow(/not a backup name/);
  });

  it('keeps the newest BACKUP_KEEP and removes those past BACKUP_MAX_AGE_DAYS', () => {
    expect(expiredBackups(names, names[0]!, 14, 30, now)).toEqual(['20261101T020000Z']);
    expect(expiredBackups(names, names[0]!, 2, 30, now)).toEqual(['20261208T020000Z', '20261101T020000Z']);
    expect(expiredBackups(names, names[0]!, 14, 365, now)).toEqual([]);
  });

  it('never removes the backup just made, even when the clock says it is old', () => {
    expect(expiredBackups(names, names[0]!, 1, 1, now + 100 * day)).toEqual(names.slice(1));
  });
});
