import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

// The house rules written as no-restricted-syntax selectors in eslint.config.js (nullableUser,
// stringBuiltSql), each run alone by ESLint itself over snippets that never touch the disk.

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export type Selector = { selector: string; message: string };

/** One named selector list of eslint.config.js. */
export async function houseSelectors(name: 'nullableUser' | 'stringBuiltSql'): Promise<Selector[]> {
  return ((await import(pathToFileURL(`${ROOT}eslint.config.js`).href)) as Record<typeof name, Selector[]>)[name];
}

/** Lints a snippet with one named selector list of eslint.config.js; its findings as "rule: message". */
export async function selectorLinter(name: 'nullableUser' | 'stringBuiltSql'): Promise<(code: string) => Promise<string[]>> {
  const linter = new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser as Linter.Parser },
        rules: { 'no-restricted-syntax': ['error', ...(await houseSelectors(name))] },
      },
    ],
  });
  return async (code) => {
    const [result] = await linter.lintText(code, { filePath: `${ROOT}packages/bastion/src/snippet.ts` });
    return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
  };
}
