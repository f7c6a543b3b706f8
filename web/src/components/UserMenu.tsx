// A person's menu, wherever the app shows someone (a message's author, a member, a direct
// conversation): send them a direct message, block or unblock them (after a confirmation),
// and whatever the place adds (a room moderator's actions).

import { useState, type ReactNode } from 'react';
import { useNavigate } from 'react-router-dom';
import { messageOf } from '../api/errors';
import { useChat, useChatStore } from '../state/ChatProvider';
import { ConfirmDialog } from './ConfirmDialog';
import { Menu, type MenuItem } from './Menu';

interface Props {
  user: { userId: string; username: string };
  /** What the button shows (the name by default). */
  children?: ReactNode;
  buttonClass?: string;
  /** Offer "Message" (not inside the conversation with them). */
  message?: boolean;
  /** Items of the place, before Block. */
  extra?: readonly MenuItem[];
  testId?: string;
}

export function UserMenu({ user, children, buttonClass = 'link-button user-menu-button', message = true, extra = [], testId }: Props) {
  const store = useChatStore();
  const navigate = useNavigate();
  const blocked = useChat((s) => s.blockedIds.has(user.userId));
  const [confirming, setConfirming] = useState<'block' | 'unblock' | null>(null);

  async function openDm() {
    try {
      const dm = await store.openDm({ userId: user.userId });
      navigate(`/chat/${dm.id}`);
    } catch (x) {
      store.say(messageOf(x));
    }
  }

  const items: MenuItem[] = [
    ...(message ? [{ label: 'Message', onSelect: () => void openDm(), testId: 'user-menu-message' }] : []),
    ...extra,
    blocked
      ? { label: 'Unblock', onSelect: () => setConfirming('unblock'), testId: 'user-menu-unblock' }
      : { label: 'Block', onSelect: () => setConfirming('block'), danger: true, testId: 'user-menu-block' },
  ];

  return (
    <>
      <Menu label={`Actions for ${user.username}`} items={items} buttonClass={buttonClass} testId={testId}>
        {children ?? user.username}
      </Menu>
      {confirming === 'block' && (
        <ConfirmDialog
          title={`Block ${user.username}?`}
          confirm="Block"
          danger
          onConfirm={async () => {
            await store.block(user);
            store.say(`You blocked ${user.username}.`);
          }}
          onClose={() => setConfirming(null)}
        >
          <p>
            You will not see their messages (they show as “Message from a blocked user”), and neither of you can send
            the other a direct message. They are not told.
          </p>
        </ConfirmDialog>
      )}
      {confirming === 'unblock' && (
        <ConfirmDialog
          title={`Unblock ${user.username}?`}
          confirm="Unblock"
          onConfirm={async () => {
            await store.unblock(user.userId);
            store.say(`You unblocked ${user.username}.`);
          }}
          onClose={() => setConfirming(null)}
        >
          <p>Their messages show again, and you can write to each other directly.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
