import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newWebhookSecret, signWebhook, verifyWebhook } from '../../lib/standard-webhooks';

describe('Standard Webhooks signatures', () => {
  it("signs the specification's test message as its reference libraries do", () => {
    const headers = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    assert.deepEqual(headers, {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('verifies its own messages, any header case, and refuses a changed body, another secret, a stale time or a bad header', () => {
    const secret = newWebhookSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/);
    const body = '{"type":"content.ready","data":{"content_id":"c-1"}}';
    const now = 1_800_000_000;
    const headers = signWebhook(secret, 'msg_1', now, body);
    assert.equal(verifyWebhook(secret, headers, body, now), true);
    const upper = Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toUpperCase(), value]));
    assert.equal(verifyWebhook(secret, upper, body, now + 60), true);
    assert.equal(verifyWebhook(secret, { ...headers, 'webhook-signature': `v1,AAAA ${headers['webhook-signature']}` }, body, now), true, 'one matching signature of the list is enough');
    assert.equal(verifyWebhook(secret, headers, body.replace('c-1', 'c-2'), now), false);
    assert.equal(verifyWebhook(newWebhookSecret(), headers, body, now), false);
    assert.equal(verifyWebhook(secret, headers, body, now + 301), false, 'older than five minutes');
    assert.equal(verifyWebhook(secret, { ...headers, 'webhook-id': 'msg_2' }, body, now), false, 'the id is signed');
    assert.equal(verifyWebhook(secret, { ...headers, 'webhook-timestamp': 'soon' }, body, now), false);
    assert.equal(verifyWebhook(secret, { ...headers, 'webhook-signature': headers['webhook-signature'].replace('v1,', 'v2,') }, body, now), false);
  });
});
