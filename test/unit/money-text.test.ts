// Money and quantities as people read them (the receipt page, the web cabinet) and the QR
// code's total: exact, from the integers, whatever their size or sign.
import t from 'tap';
import { moneyText, tenge, thousandthsText } from '../../src/fiscal/money.js';

const NBSP = '\u00a0';

t.test('moneyText groups thousands and keeps the tiyn', async (t) => {
  const cases: [number, string][] = [
    [0, '0,00'],
    [5, '0,05'],
    [99, '0,99'],
    [100, '1,00'],
    [99_999, '999,99'],
    [100_000, `1${NBSP}000,00`],
    [1_440_100, `14${NBSP}401,00`],
    [100_000_007, `1${NBSP}000${NBSP}000,07`],
    [123_456_789_012, `1${NBSP}234${NBSP}567${NBSP}890,12`],
    [-1, '−0,01'],
    [-1_000_050, `−10${NBSP}000,50`],
  ];
  for (const [tiyn, text] of cases) t.equal(moneyText(tiyn), text, String(tiyn));
});

t.test('thousandthsText drops trailing zeros of the fraction only', async (t) => {
  const cases: [number, string][] = [
    [0, '0'],
    [1000, '1'],
    [1500, '1,5'],
    [1050, '1,05'],
    [1005, '1,005'],
    [12_000, '12'],
    [12_340, '12,34'],
    [999, '0,999'],
    [-1500, '-1,5'],
  ];
  for (const [n, text] of cases) t.equal(thousandthsText(n), text, String(n));
});

t.test('tenge: the QR total, numbers and bigints alike', async (t) => {
  t.equal(tenge(1_440_100), '14401.00');
  t.equal(tenge(5), '0.05');
  t.equal(tenge(-1234), '-12.34');
  t.equal(tenge(0), '0.00');
  t.equal(tenge(123_456_789_012_345_678n), '1234567890123456.78', 'beyond safe integers');
  t.equal(tenge(Number.MAX_SAFE_INTEGER), '90071992547409.91');
});
