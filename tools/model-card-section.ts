import { readFile, writeFile } from "node:fs/promises";

/**
 * Replaces the text between `<!-- name -->` and `<!-- /name -->` in a model card, so figures measured
 * after training (over HTTP, on this machine) land in the card beside the command that measured them.
 */
export async function replaceCardSection(cardPath: string, name: string, markdown: string): Promise<void> {
  const card = await readFile(cardPath, "utf8");
  const start = `<!-- ${name} -->`;
  const end = `<!-- /${name} -->`;
  const from = card.indexOf(start);
  const to = card.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${cardPath} has no section ${start} ... ${end}`);
  await writeFile(cardPath, `${card.slice(0, from + start.length)}\n${markdown.trim()}\n${card.slice(to)}`);
}
