import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox';

function ids() {
  let n = 0;
  return () => `cid-${++n}`;
}

describe('Outbox', () => {
  it('queues with a stable clientMsgId, in order', () => {
    const o = new Outbox(ids());
    o.enqueue(1, 'a', 0);
    o.enqueue(2, 'b', 1);
    o.enqueue(1, 'c', 2);
    expect(o.list().map((m) => m.clientMsgId)).toEqual(['cid-1', 'cid-2', 'cid-3']);
    expect(o.list(1).map((m) => m.content)).toEqual(['a', 'c']);
    expect(o.list().every((m) => m.status === 'queued')).toBe(true);
  });

  it('everything queued is due; sent items are due again only after the ack timeout', () => {
    const o = new Outbox(ids());
    o.enqueue(1, 'a', 0);
    o.enqueue(1, 'b', 0);
    o.markSent('cid-1', 100);
    expect(o.due(100, 10_000).map((m) => m.clientMsgId)).toEqual(['cid-2']);
    expect(o.due(10_099, 10_000).map((m) => m.clientMsgId)).toEqual(['cid-2']);
    expect(o.due(10_100, 10_000).map((m) => m.clientMsgId)).toEqual(['cid-1', 'cid-2']);
  });

  it('retries keep the same clientMsgId and count attempts', () => {
    const o = new Outbox(ids());
    o.enqueue(1, 'a', 0);
    o.markSent('cid-1', 1);
    o.requeueInFlight();
    expect(o.get('cid-1')?.status).toBe('queued');
    o.markSent('cid-1', 2);
    expect(o.get('cid-1')?.attempts).toBe(2);
    expect(o.get('cid-1')?.clientMsgId).toBe('cid-1');
  });

  it('an ack settles the item exactly once', () => {
    const o = new Outbox(ids());
    o.enqueue(1, 'a', 0);
    expect(o.settle('cid-1')).toBe(true);
    expect(o.settle('cid-1')).toBe(false);
    expect(o.size).toBe(0);
  });

  it('failed items are not resent until the user retries', () => {
    const o = new Outbox(ids());
    o.enqueue(1, 'a', 0);
    o.fail('cid-1', 'Too long');
    expect(o.due(1e9, 1)).toEqual([]);
    expect(o.get('cid-1')?.error).toBe('Too long');
    o.requeueInFlight();
    expect(o.get('cid-1')?.status).toBe('failed');
    o.retry('cid-1');
    expect(o.due(0, 1).map((m) => m.clientMsgId)).toEqual(['cid-1']);
  });

  it('drops a room and discards single items', () => {
    const o = new Outbox(ids());
    o.enqueue(1, 'a', 0);
    o.enqueue(2, 'b', 0);
    o.enqueue(2, 'c', 0);
    o.dropRoom(2);
    expect(o.list().map((m) => m.content)).toEqual(['a']);
    o.discard('cid-1');
    expect(o.size).toBe(0);
  });

  it('a reply keeps its replyToId (and what it shows) through sends, drops, failures and retries', () => {
    const o = new Outbox(ids());
    const ref = { id: 42, seq: 7, userId: 'u', username: 'alice', excerpt: 'hi' };
    o.enqueue(1, 'answer', 0, ref);
    o.enqueue(1, 'plain', 0);
    expect(o.list().map((m) => m.replyToId)).toEqual([42, undefined]);
    o.markSent('cid-1', 1);
    o.requeueInFlight();
    o.markSent('cid-1', 2);
    o.fail('cid-1', 'nope');
    o.retry('cid-1');
    expect(o.get('cid-1')).toMatchObject({ replyToId: 42, replyTo: ref, status: 'queued', attempts: 2 });
  });

  it('keeps a message’s uploads through requeues and retries, and names their ids', () => {
    const o = new Outbox(ids());
    const ups = [
      { id: 'up-1', name: 'a.png', contentType: 'image/png', size: 10 },
      { id: 'up-2', name: 'b.pdf', contentType: 'application/pdf', size: 20 },
    ];
    o.enqueue(1, '', 0, undefined, ups);
    o.enqueue(1, 'text only', 0);
    ups.pop(); // the caller's array is copied, not kept
    o.markSent('cid-1', 1);
    o.requeueInFlight();
    o.fail('cid-1', 'nope');
    o.retry('cid-1');
    const m = o.get('cid-1');
    expect(m?.content).toBe('');
    expect(m && Outbox.attachmentIds(m)).toEqual(['up-1', 'up-2']);
    const plain = o.get('cid-2');
    expect(plain?.attachments).toBeUndefined();
    expect(plain && Outbox.attachmentIds(plain)).toBeUndefined();
  });
});
