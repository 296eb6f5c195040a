/**
 * Issue 15: docs/reference.md is the project's own reference of its rules and bug classes. These
 * checks fail when it falls out of step with the code: a bug class the audit reports, a WARN kind,
 * a profile or a profile rule the page does not cover, an anchor a link or a finding's `ref`
 * points at that does not exist, or a link that sends readers outside the repository's files.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditClasses } from '../src/audit/auditor.js';
import { BUG_CLASS_TITLES } from '../src/audit/classes.js';
import { LINUX_4_6, PROFILES } from '../src/domain/profile.js';
import { WARN_KINDS } from '../src/events/types.js';

const ROOT = join(import.meta.dirname, '..');
const DOC = join(ROOT, 'docs', 'reference.md');
const doc = readFileSync(DOC, 'utf8');

/** Explicit anchors (`<a id="…">` or any `id="…"`), in page order. */
const ids = [...doc.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!);
/** GitHub's ids for headings: lower case, punctuation dropped, spaces to hyphens. */
const slugs = [...doc.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
  m[1]!
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-'),
);
const targets = new Set([...ids, ...slugs]);

/** Every class the audit can report: the titles are a Record over BugClass, so none is missing. */
const bugClasses = Object.keys(BUG_CLASS_TITLES);

describe('docs/reference.md covers what the code knows', () => {
  it('has an anchor id="Bn" for every bug class the auditor can report', () => {
    const reportable = new Set([...bugClasses, ...[...PROFILES.values()].flatMap((p) => auditClasses(p))]);
    expect(reportable.size).toBeGreaterThan(0);
    expect([...reportable].filter((c) => !ids.includes(c))).toEqual([]);
  });

  it('numbers its bug-class anchors B1..Bn without a gap (classes the audit does not check included)', () => {
    const nums = ids.filter((id) => /^B\d+$/.test(id)).map((id) => Number(id.slice(1)));
    expect(nums).toEqual(Array.from({ length: nums.length }, (_, i) => i + 1));
  });

  it('has an anchor id="warn-<kind>" for every WARN kind', () => {
    expect(WARN_KINDS.length).toBeGreaterThan(0);
    expect(WARN_KINDS.filter((k) => !ids.includes(`warn-${k}`))).toEqual([]);
  });

  it('mentions every kernel profile by name', () => {
    expect([...PROFILES.keys()].filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
  });

  it('names every rule field of a profile (pagetrack profiles --json)', () => {
    const fields = Object.keys(LINUX_4_6).filter((k) => !['name', 'summary', 'kernels', 'differences'].includes(k));
    expect(fields).toContain('moveArrays');
    expect(fields.filter((f) => !doc.includes(`\`${f}\``))).toEqual([]);
  });

  it('has no anchor twice', () => {
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('resolves every link within the page, and every rule anchor is linked from somewhere', () => {
    const links = [...doc.matchAll(/\]\(#([^)\s]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !targets.has(l))).toEqual([]);
    expect(ids.filter((id) => id.startsWith('rule-') && !links.includes(id))).toEqual([]);
  });

  it("resolves the README's references into the page", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const refs = [...readme.matchAll(/docs\/reference\.md#([\w-]+)/g)].map((m) => m[1]!);
    expect(refs.filter((r) => !targets.has(r))).toEqual([]);
  });
});

describe('nothing sends readers outside the repository', () => {
  const files = [
    join(ROOT, 'README.md'),
    ...readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(ROOT, 'docs', f)),
  ];

  it.each(files.map((f) => [f.slice(ROOT.length + 1), f]))('%s has no link to, or path in, ../shared', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    // Markdown links [x](target), reference definitions [x]: target, and HTML href="target".
    const linkTargets = [...text.matchAll(/\]\(\s*<?([^)\s>]+)/g), ...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?\s*$/gm), ...text.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
    expect(linkTargets.filter((t) => /(^|\/)\.\.\/shared(\/|$)/.test(t))).toEqual([]);
    // A clone has no ../shared: naming the path in text sends readers there as much as a link does.
    expect(text.split('\n').filter((l) => l.includes('../shared'))).toEqual([]);
  });
});
