// The language of the cabinet: Russian, Kazakh or English, chosen by the switch in the header
// (kept in localStorage), at first from the browser's languages. Strings live in one file per
// language; `fmt` fills their {placeholders}.
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { ru, type Texts } from './ru';
import { kk } from './kk';
import { en } from './en';

export const LANGUAGES = { ru, kk, en } as const;
export type Lang = keyof typeof LANGUAGES;
const KEY = 'ofd.lang';

function initialLang(): Lang {
  const saved = localStorage.getItem(KEY);
  if (saved && saved in LANGUAGES) return saved as Lang;
  for (const l of navigator.languages ?? []) {
    const base = l.slice(0, 2);
    if (base in LANGUAGES) return base as Lang;
  }
  return 'ru';
}

const LangContext = createContext<{ t: Texts; lang: Lang; setLang(l: Lang): void }>({
  t: ru,
  lang: 'ru',
  setLang: () => {},
});

let current: Texts = ru;
/** The chosen language's texts, for code outside components (the API's refusals in words). */
export const texts = (): Texts => current;

export function LangProvider({ children }: { children: ComponentChildren }) {
  const [lang, setLang] = useState<Lang>(initialLang);
  current = LANGUAGES[lang];
  useEffect(() => {
    localStorage.setItem(KEY, lang);
    document.documentElement.lang = lang;
    document.title = LANGUAGES[lang].appTitle;
  }, [lang]);
  return (
    <LangContext.Provider value={{ t: LANGUAGES[lang], lang, setLang }}>
      {children}
    </LangContext.Provider>
  );
}

export const useLang = () => useContext(LangContext);
export const useT = () => useContext(LangContext).t;

/** 'смена № {n}' with {n: 5} → 'смена № 5'. */
export function fmt(text: string, vars: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (all, name: string) =>
    name in vars ? String(vars[name]) : all,
  );
}
