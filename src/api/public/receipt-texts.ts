// The receipt check's words in Russian and Kazakh, and which language a request gets: `?lang=`
// when it names one of them, else the best of Accept-Language, else Russian.
import Negotiator from 'negotiator';

export const LANGS = ['ru', 'kk'] as const;
export type Lang = (typeof LANGS)[number];

/** Accept-Language headers seen, and the language each gets (browsers send few distinct ones). */
const byHeader = new Map<string | undefined, Lang>();
const BY_HEADER_MAX = 1000;

export function pickLang(query: unknown, acceptLanguage: string | undefined): Lang {
  if (query === 'ru' || query === 'kk') return query;
  let lang = byHeader.get(acceptLanguage);
  if (lang) return lang;
  const best = new Negotiator({ headers: { 'accept-language': acceptLanguage } }).language([
    ...LANGS,
  ]);
  lang = (best as Lang | undefined) ?? 'ru';
  if (byHeader.size >= BY_HEADER_MAX) byHeader.clear();
  byHeader.set(acceptLanguage, lang);
  return lang;
}

const ru = {
  htmlLang: 'ru',
  title: 'Проверка чека',
  verified: 'Чек зарегистрирован в ОФД',
  org: 'Организация',
  bin: 'БИН',
  point: 'Торговая точка',
  address: 'Адрес',
  serial: 'Заводской номер ККМ',
  kgd: 'Регистрационный номер ККМ (КГД)',
  number: 'Фискальный номер чека',
  dateTime: 'Дата и время',
  operation: 'Операция',
  operations: {
    buy: 'Покупка',
    buy_return: 'Возврат покупки',
    sell: 'Продажа',
    sell_return: 'Возврат продажи',
  } as Record<string, string>,
  offline: 'Чек сформирован в автономном режиме',
  offlineNumber: 'автономный номер',
  cancelled: 'Чек аннулирован',
  item: 'Наименование',
  quantity: 'Кол-во',
  price: 'Цена',
  sum: 'Сумма',
  vat: 'НДС',
  itemTypes: {
    discount: 'Скидка',
    markup: 'Наценка',
    storno_commodity: 'Сторно',
    storno_discount: 'Сторно скидки',
    storno_markup: 'Сторно наценки',
  } as Record<string, string>,
  discount: 'Скидка',
  markup: 'Наценка',
  payments: 'Оплата',
  paymentTypes: {
    cash: 'Наличные',
    card: 'Банковская карта',
    credit: 'В кредит',
    tare: 'Тара',
    mobile: 'Мобильный платёж',
  } as Record<string, string>,
  taken: 'Получено',
  change: 'Сдача',
  total: 'Итого',
  taxes: 'Налоги',
  taxOf: 'в т.ч.',
  taxType: (type: number) => (type === 100 ? 'НДС' : `Налог ${type}`),
  notFoundTitle: 'Чек не найден',
  notFound:
    'Проверьте номер чека, регистрационный номер ККМ, сумму и время. Чек, выбитый без связи ' +
    'с ОФД, появится здесь после того, как касса его передаст.',
  badRequestTitle: 'Неверная ссылка проверки чека',
  badRequest: 'Ссылке не хватает данных чека или они записаны неверно',
  tooManyTitle: 'Слишком много запросов',
  tooMany: 'Повторите проверку позже.',
};

export type Texts = typeof ru;

const kk: Texts = {
  htmlLang: 'kk',
  title: 'Чекті тексеру',
  verified: 'Чек ФДО-да тіркелген',
  org: 'Ұйым',
  bin: 'БСН',
  point: 'Сауда нүктесі',
  address: 'Мекенжайы',
  serial: 'БКМ зауыттық нөмірі',
  kgd: 'БКМ тіркеу нөмірі (МКК)',
  number: 'Чектің фискалдық нөмірі',
  dateTime: 'Күні мен уақыты',
  operation: 'Операция',
  operations: {
    buy: 'Сатып алу',
    buy_return: 'Сатып алуды қайтару',
    sell: 'Сату',
    sell_return: 'Сатуды қайтару',
  },
  offline: 'Чек автономды режимде жасалған',
  offlineNumber: 'автономды нөмірі',
  cancelled: 'Чектің күші жойылды',
  item: 'Атауы',
  quantity: 'Саны',
  price: 'Бағасы',
  sum: 'Сомасы',
  vat: 'ҚҚС',
  itemTypes: {
    discount: 'Жеңілдік',
    markup: 'Үстеме баға',
    storno_commodity: 'Сторно',
    storno_discount: 'Жеңілдік сторносы',
    storno_markup: 'Үстеме баға сторносы',
  },
  discount: 'Жеңілдік',
  markup: 'Үстеме баға',
  payments: 'Төлем',
  paymentTypes: {
    cash: 'Қолма-қол ақша',
    card: 'Банк картасы',
    credit: 'Несиеге',
    tare: 'Ыдыс',
    mobile: 'Мобильді төлем',
  },
  taken: 'Алынды',
  change: 'Қайтарым',
  total: 'Барлығы',
  taxes: 'Салықтар',
  taxOf: 'оның ішінде',
  taxType: (type: number) => (type === 100 ? 'ҚҚС' : `Салық ${type}`),
  notFoundTitle: 'Чек табылмады',
  notFound:
    'Чек нөмірін, БКМ тіркеу нөмірін, сомасын және уақытын тексеріңіз. ФДО-мен байланыссыз ' +
    'берілген чек касса оны жібергеннен кейін осында пайда болады.',
  badRequestTitle: 'Чекті тексеру сілтемесі қате',
  badRequest: 'Сілтемеде чек деректері жетіспейді немесе қате жазылған',
  tooManyTitle: 'Сұраулар тым көп',
  tooMany: 'Тексеруді кейінірек қайталаңыз.',
};

export const TEXTS: Record<Lang, Texts> = { ru, kk };
