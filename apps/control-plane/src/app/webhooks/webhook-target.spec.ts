import { Webhook } from 'standardwebhooks';
import { callbackUrlProblem, tenantWebhookSecret } from '@sandbox/domain';
import { signedHeaders } from './webhook-sender';
import { addressRefusal, allowedNetworks, webhookTarget, WebhookTargetRefused } from './webhook-target';

describe('addressRefusal', () => {
  const none = allowedNetworks([]);

  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254'])(
    'refuses %s',
    (address) => {
      expect(addressRefusal(address, none)).toMatch(/WEBHOOK_ALLOWED_NETWORKS/);
    },
  );

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('lets %s through', (address) => {
    expect(addressRefusal(address, none)).toBeNull();
  });

  it('lets through what the operator allows, and only that', () => {
    const allowed = allowedNetworks(['10.1.0.0/16', 'fd00:1::/32']);
    expect(addressRefusal('10.1.2.3', allowed)).toBeNull();
    expect(addressRefusal('10.2.0.1', allowed)).not.toBeNull();
    expect(addressRefusal('fd00:1::5', allowed)).toBeNull();
    expect(addressRefusal('127.0.0.1', allowed)).not.toBeNull();
  });
});

describe('webhookTarget', () => {
  it('pins an address literal that may be reached, and refuses one that may not', async () => {
    await expect(webhookTarget('https://[2606:4700:4700::1111]/hook', allowedNetworks([]))).resolves.toMatchObject({ address: '2606:4700:4700::1111', family: 6 });
    await expect(webhookTarget('http://127.0.0.1:9/hook', allowedNetworks([]))).rejects.toBeInstanceOf(WebhookTargetRefused);
    await expect(webhookTarget('http://127.0.0.1:9/hook', allowedNetworks(['127.0.0.0/8']))).resolves.toMatchObject({ address: '127.0.0.1', family: 4 });
  });

  it('resolves a name and refuses it when every address is barred', async () => {
    await expect(webhookTarget('http://localhost:9/', allowedNetworks([]))).rejects.toThrow(/private, loopback/);
  });
});

describe('callbackUrlProblem', () => {
  it('takes http and https URLs without credentials', () => {
    expect(callbackUrlProblem('https://example.com/hook?x=1')).toBeNull();
    expect(callbackUrlProblem('http://example.com:8080/')).toBeNull();
    expect(callbackUrlProblem('file:///etc/passwd')).toMatch(/http or https/);
    expect(callbackUrlProblem('https://a:b@example.com/')).toMatch(/credentials/);
    expect(callbackUrlProblem('/relative')).toMatch(/absolute/);
    expect(callbackUrlProblem(`https://example.com/${'x'.repeat(2048)}`)).toMatch(/2048/);
  });
});

describe('signedHeaders', () => {
  it('signs as Standard Webhooks do, with a secret of its own per tenant', () => {
    const secret = tenantWebhookSecret('m'.repeat(32), 'acme');
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(tenantWebhookSecret('m'.repeat(32), 'other')).not.toBe(secret);
    const body = '{"type":"execution.finished"}';
    const headers = signedHeaders(secret, 'exec_1', body, new Date());
    expect(headers['webhook-signature']).toMatch(/^v1,/);
    expect(new Webhook(secret).verify(body, headers)).toEqual({ type: 'execution.finished' });
    expect(() => new Webhook(tenantWebhookSecret('m'.repeat(32), 'other')).verify(body, headers)).toThrow();
  });
});
