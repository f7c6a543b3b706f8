// A message for unit tests: the fields every test leaves alone, with `fields` on top.
import type { Message } from '../api/types';

export function makeMessage(fields: Partial<Message>): Message {
  return {
    id: 1,
    roomId: 1,
    seq: 1,
    userId: 'u',
    username: 'alice',
    type: 'text',
    content: '',
    clientMsgId: null,
    createdAt: '2025-01-01T00:00:00Z',
    editedAt: null,
    deleted: false,
    rev: 1,
    ...fields,
  };
}
