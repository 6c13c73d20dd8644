import t from 'tap';
import { fromTiyn, toTiyn, isValidThousandths, MAX_TIYN } from '../../src/fiscal/money.js';
import { wallClock, fromWallClock } from '../../src/protocol/datetime.js';

t.test('money converts to integer tiyn and back', async (t) => {
  t.equal(toTiyn({ bills: 230, coins: 43 }), 23043);
  t.equal(toTiyn({ bills: 0, coins: 0 }), 0);
  t.same(fromTiyn(23043), { bills: 230, coins: 43 });
  t.equal(toTiyn(fromTiyn(MAX_TIYN - (MAX_TIYN % 100))), MAX_TIYN - (MAX_TIYN % 100));
});

t.test('invalid money is refused, never rounded', async (t) => {
  t.equal(toTiyn({ bills: 1, coins: 100 }), null, 'coins must be below 100');
  t.equal(toTiyn({ bills: 2 ** 60, coins: 0 }), null, 'overflowing bills');
  t.equal(toTiyn({ bills: Number.MAX_SAFE_INTEGER, coins: 0 }), null);
  t.equal(toTiyn(null), null);
  t.throws(() => fromTiyn(-1));
  t.throws(() => fromTiyn(0.5));
});

t.test('thousandths are non-negative int32 integers', async (t) => {
  t.ok(isValidThousandths(1500));
  t.notOk(isValidThousandths(-1));
  t.notOk(isValidThousandths(2 ** 31));
  t.notOk(isValidThousandths(undefined));
});

t.test('wall-clock dates are kept as received and impossible ones refused', async (t) => {
  const dt = { date: { year: 2026, month: 2, day: 28 }, time: { hour: 23, minute: 5, second: 9 } };
  t.equal(wallClock(dt), '2026-02-28 23:05:09');
  t.same(fromWallClock('2026-02-28 23:05:09'), dt);
  t.equal(
    wallClock({ date: { year: 2026, month: 2, day: 31 }, time: { hour: 1, minute: 0 } }),
    null,
  );
  t.equal(
    wallClock({ date: { year: 2024, month: 2, day: 29 }, time: { hour: 1, minute: 0 } }),
    '2024-02-29 01:00:00',
  );
  t.equal(
    wallClock({ date: { year: 2025, month: 2, day: 29 }, time: { hour: 1, minute: 0 } }),
    null,
  );
  t.equal(
    wallClock({ date: { year: 2026, month: 13, day: 1 }, time: { hour: 1, minute: 0 } }),
    null,
  );
  t.equal(
    wallClock({ date: { year: 2026, month: 1, day: 1 }, time: { hour: 24, minute: 0 } }),
    null,
  );
  t.equal(wallClock(null), null);
});
