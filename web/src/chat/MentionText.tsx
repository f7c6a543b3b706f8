// A message's text with its `@name` mentions as chips (the viewer's own stands out). Always
// text nodes: nothing in a message is ever read as HTML.

import { useMemo } from 'react';
import type { Message } from '../api/types';
import { mentionChecker, splitMentions } from '../lib/mentions';

type Props = { message: Pick<Message, 'content' | 'mentions' | 'mentionsRoom'>; myName: string };

export function MentionText({ message: m, myName }: Props) {
  // Messages are never changed in place, so the object tells when to cut again.
  const parts = useMemo(() => splitMentions(m.content, mentionChecker(m)), [m]);
  const me = myName.toLowerCase();
  return (
    <>
      {parts.map((p, i) =>
        p.kind === 'text' ? (
          p.text
        ) : (
          <span key={i} className={p.name.toLowerCase() === me ? 'mention mention-me' : 'mention'} data-testid="mention-chip" data-name={p.name}>
            {p.text}
          </span>
        ),
      )}
    </>
  );
}
