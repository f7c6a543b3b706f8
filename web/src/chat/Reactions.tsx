// A message's reaction chips (emoji + count, pressed when the user's own; a click toggles it)
// and the compact picker the "React" buttons open.

import { useEffect, useRef, type KeyboardEvent } from 'react';
import type { Message, Reaction } from '../api/types';
import { PICKER_EMOJI, displayEmoji, hasReacted, reactionsOf } from '../lib/reactions';

interface Common {
  message: Message;
  meId: string;
  mine: string[] | undefined;
  onReact(m: Message, emoji: string, add: boolean): void;
}

const plural = (n: number) => `${n} ${n === 1 ? 'reaction' : 'reactions'}`;

/** The label of a toggle for `glyph`: what a press does, given whether the user has reacted. */
export function reactionLabel(glyph: string, reacted: boolean): string {
  return reacted ? `Remove your ${glyph} reaction` : `React with ${glyph}`;
}

export function Reactions({
  message: m,
  meId,
  mine,
  onReact,
  onAdd,
  picking,
}: Common & { onAdd(opener: HTMLButtonElement): void; picking: boolean }) {
  const reactions = reactionsOf(m);
  if (reactions.length === 0) return null;
  return (
    <div className="msg-reactions" role="group" aria-label="Reactions" data-testid="reactions">
      {reactions.map((r) => {
        const reacted = hasReacted(r, meId, mine);
        const glyph = displayEmoji(r.emoji);
        return (
          <button
            key={r.emoji}
            type="button"
            className={`reaction-chip${reacted ? ' reaction-mine' : ''}`}
            aria-pressed={reacted}
            aria-label={`${reactionLabel(glyph, reacted)} (${plural(r.count)})`}
            title={r.emoji !== glyph ? `${r.emoji} · ${plural(r.count)}` : plural(r.count)}
            data-testid="reaction-chip"
            data-emoji={r.emoji}
            data-count={r.count}
            onClick={() => onReact(m, r.emoji, !reacted)}
          >
            <span className="reaction-emoji" aria-hidden="true">
              {glyph}
            </span>
            <span className="reaction-count" aria-hidden="true">
              {r.count}
            </span>
          </button>
        );
      })}
      <button
        type="button"
        className="reaction-chip reaction-add"
        aria-label="Add reaction"
        aria-expanded={picking}
        title="Add reaction"
        onClick={(e) => onAdd(e.currentTarget)}
      >
        <span aria-hidden="true">☺+</span>
      </button>
    </div>
  );
}

/**
 * The chip a picker emoji stands for: the message's reaction shown with that glyph (a
 * `:shortcode:` one counts), preferring one the user has, so picking it joins or leaves it.
 */
export function chipFor(reactions: readonly Reaction[], glyph: string, meId: string, mine: string[] | undefined): Reaction | undefined {
  const same = reactions.filter((r) => displayEmoji(r.emoji) === glyph);
  return same.find((r) => hasReacted(r, meId, mine)) ?? same[0];
}

export function ReactionPicker({ message: m, meId, mine, onReact, onClose }: Common & { onClose(refocus: boolean): void }) {
  const ref = useRef<HTMLDivElement>(null);
  const close = useRef(onClose);
  close.current = onClose;

  useEffect(() => {
    // Focus moves in once, on opening (not on every re-render a live frame causes).
    ref.current?.querySelector('button')?.focus();
    const outside = (e: PointerEvent) => {
      const el = ref.current;
      // A press inside the same message (the picker, its opener, a chip) is not "outside".
      const own = el?.closest('.msg');
      if (!el || (own && own.contains(e.target as Node))) return;
      close.current(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, []);

  function onKey(e: KeyboardEvent<HTMLDivElement>) {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onClose(true);
      return;
    }
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft' && e.key !== 'Home' && e.key !== 'End') return;
    const buttons = Array.from(ref.current?.querySelectorAll('button') ?? []);
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const n = buttons.length;
    const next = e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : (i + (e.key === 'ArrowRight' ? 1 : -1) + n) % n;
    e.preventDefault();
    buttons[next]?.focus();
  }

  const reactions = reactionsOf(m);
  return (
    <div className="reaction-picker" role="group" aria-label="Pick a reaction" ref={ref} onKeyDown={onKey} data-testid="reaction-picker">
      {PICKER_EMOJI.map((glyph) => {
        const chip = chipFor(reactions, glyph, meId, mine);
        const reacted = chip ? hasReacted(chip, meId, mine) : false;
        return (
          <button
            key={glyph}
            type="button"
            className={`reaction-pick${reacted ? ' reaction-mine' : ''}`}
            aria-label={reactionLabel(glyph, reacted)}
            aria-pressed={reacted}
            onClick={() => {
              onReact(m, chip?.emoji ?? glyph, !reacted);
              onClose(true);
            }}
          >
            <span aria-hidden="true">{glyph}</span>
          </button>
        );
      })}
    </div>
  );
}
