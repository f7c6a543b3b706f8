// One MessageItem rendered to static HTML for unit tests, with no-op handlers.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { Message } from '../api/types';
import { MessageItem } from '../chat/MessageItem';

const noop = () => undefined;

type Props = Parameters<typeof MessageItem>[0];

export function renderMessageItem(m: Message, viewer: { id: string; username: string }, extra: Partial<Props> = {}): string {
  return renderToStaticMarkup(
    createElement(MessageItem, {
      message: m,
      own: m.userId === viewer.id,
      canDelete: false,
      meId: viewer.id,
      meName: viewer.username,
      myReactions: undefined,
      reactionError: undefined,
      onEdit: async () => undefined,
      onDelete: async () => undefined,
      onReact: noop,
      onReply: noop,
      onJump: noop,
      ...extra,
    }),
  );
}
