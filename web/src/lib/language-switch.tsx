import { LANGUAGES, useLang, type Lang } from '../i18n';

/** The language switch of the header: each language named in itself. */
export function LanguageSwitch() {
  const { t, lang, setLang } = useLang();
  return (
    <label class="lang">
      {t.language}{' '}
      <select value={lang} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
        {Object.values(LANGUAGES).map((l) => (
          <option key={l.lang} value={l.lang} lang={l.lang}>
            {l.langName}
          </option>
        ))}
      </select>
    </label>
  );
}
