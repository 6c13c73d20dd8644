// Which of the organization's users a caller may see: all of them with every point (the owner,
// or a sub-user granted every point); otherwise itself and the users of its points: those whose
// access lies within its own points. Another point's staff (and the owner) stay out of view.
import type { UserView } from '../../storage/cabinet-users.js';
import type { Caller } from '../../storage/cabinet-scope.js';

export function seesUser(caller: Caller, user: UserView): boolean {
  const mine = caller.pointIds;
  if (mine === 'all' || user.userId === caller.userId) return true;
  const theirs = user.effectivePointIds;
  return user.role !== 'owner' && theirs.length > 0 && theirs.every((p) => mine.has(p));
}
