"""Builds the independent secrets corpus (issue #33): secrets and look-alikes that other
projects wrote for their own detectors, never from this repository's rules.

usage: python3 tools/secrets-corpus.py --detect-secrets DIR --noseyparker DIR [--out FILE]

Sources (both Apache-2.0; the corpus is extracted on demand and not committed):
- Yelp detect-secrets, tests/plugins/*_test.py: every pytest parametrize tuple of a
  string and a bool (a payload and whether that plugin must flag it).
- Praetorian Nosey Parker, crates/noseyparker/data/default/builtin/rules/*.yml: every
  rule's `examples` and `negative_examples`.

DIR is a checkout of each repository (or a folder holding its files). The default
output is ~/.cache/tta-carbon/secrets-eval/independent.json, where npm run
eval:secrets and test/e2e/secrets-independent.test.ts look for it.

Labels come from the sources' own detectors, never from ours and never by hand:
- a secret's value is what the source's detector extracts from the example (Nosey
  Parker's rule capture groups, run with Python's re, less those the rule's own
  comments name a username, host or id; detect-secrets' plugins' secret_value); an
  example no detector extracts a value from is dropped and counted; only rules Nosey
  Parker files under "secret" count (not its identifier-only rules);
- a negative example is a "look-alike" only when neither source's detectors flag it
  (every Nosey Parker rule, every detect-secrets plugin but the two generic entropy
  ones): a payload one plugin must not flag but another does (an AWS secret key of the
  wrong length assigned to aws_access_key) is a disputed case, not a look-alike, and
  is dropped and counted; so are the negative examples a rule file marks as misses
  (a comment above them: FIXME, XXX, npm's legacy tokens), and those that hold a string the sources label a secret
  elsewhere, or a mutation of one (a test of one detector's exact format);
- a captured value that is a reference ($password, #{…}, %VAR%, quoted or not), names
  a user, or names itself a client id is where a secret is kept, not the secret; and a
  rule with one group captures its secret whatever word stands before it.
"""
import argparse
import difflib
import glob
import importlib.util
import json
import os
import re
import sys
import types

import yaml


def load_noseyparker(root):
    rules = []
    for path in sorted(glob.glob(os.path.join(root, 'crates/noseyparker/data/default/builtin/rules/*.yml'))):
        with open(path, encoding='utf-8') as f:
            source = f.read()
        doc = yaml.safe_load(source) or {}
        # The text of each rule's entry, to read the comments YAML drops.
        chunks = re.split(r'\n- name:', source)
        for rule in doc.get('rules', []):
            chunk = next((c for c in chunks if f"id: {rule['id']}\n" in c), '')
            # A comment right above a rule's negative examples is, in every rule file, a
            # note that they are secrets the pattern misses: FIXME, XXX, "There are also
            # NPM Legacy Access Tokens, which appear to be non-prefixed v4 UUIDs",
            # "These lack the necessary leading context" (Kagi).
            rule['_fixme_negatives'] = bool(re.search(r'\n[ \t]*#[^\n]*\n[ \t]*negative_examples', chunk))
            rules.append(rule)
    return rules


def compile_rust(pattern):
    # Rust's regex and Python's re agree on the syntax these rules use ((?x), (?i),
    # (?# comments), classes) but for \z; a rule Python cannot compile is reported.
    try:
        return re.compile(pattern.replace(r'\z', r'\Z'))
    except re.error:
        return None


# What a rule's capture groups hold, from the rule's own (?# ...) comments: a group the
# rule names a username, host, URL or id is where the secret was found, not the secret.
NOT_SECRET_GROUP = re.compile(r'user|host|url|uri|domain|endpoint|region|tenant|account name|org|email|scheme|client.?id|\bid\b|login name', re.I)
SECRET_GROUP = re.compile(r'pass|secret|key|token|cred|signature|auth', re.I)


HOST = re.compile(r'^(?:[a-z][a-z0-9+.-]*://[^\s:@]*|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})$', re.I)


def group_roles(pattern):
    """Group number -> the comment that follows it on its line, for a verbose pattern;
    without one, the key the pattern names just before the group ("User Id=(...)")."""
    roles, n, i, since = {}, 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == '\\':
            i += 2
            continue
        if c == '[':
            # A class holds no group: a '(' inside one (a URL's userinfo characters) is
            # a literal and must not shift the count.
            i += 2 if pattern.startswith('[^', i) else 1
            i += 1 if pattern.startswith(']', i) else 0
            while i < len(pattern) and pattern[i] != ']':
                i += 2 if pattern[i] == '\\' else 1
            i += 1
            continue
        if c == '(' and not pattern.startswith('(?', i):
            n += 1
            line_end = pattern.find('\n', i)
            line = pattern[i: line_end if line_end >= 0 else len(pattern)]
            m = re.search(r'\(\?#([^)]*)\)', line)
            if m:
                roles[n] = m.group(1)
            else:
                key = named_key(pattern[since:i])
                if key:
                    roles[n] = key
            since = i
        elif pattern.startswith('(?P<', i) or (pattern.startswith('(?<', i) and pattern[i + 3] not in '=!'):
            n += 1
        i += 1
    # A rule with one group captures the secret it is named for (sonarqube's
    # `sonar.login=<token>`): roles tell several groups apart, never the only one.
    return roles if n > 1 else {}


# A key a pattern spells just before a group, when every alternative names a user or
# an account rather than its secret: `(?: User | User\ Id | Uid) \s*=\s* (...)`,
# `(?: AccountName | SharedAccessKeyName) \s*=\s* (...)`, `login \s+ (...)`.
NAMED_ONLY = re.compile(r'(?:user(?:\\? ?id|name)?|uid|login|name|issuer|id|machine)$', re.I)


def named_key(text):
    """'username' when the literal words just before a group all name a user or account."""
    literal = re.sub(r'\\[sSdDwWbB]|\(\?#[^)]*\)', ' ', text)
    last = re.findall(r'\(\?:([^()]*)\)[^()]*$', literal)
    words = re.findall(r'[A-Za-z][A-Za-z\\ ]*[A-Za-z]', last[-1] if last else literal.split(')')[-1])
    words = [w.replace('\\ ', '').replace('\\', '').strip() for w in re.split(r'\|', last[-1])] if last else words[-1:]
    words = [w for w in words if w]
    if words and all(NAMED_ONLY.search(re.sub(r'\W', '', w)) for w in words):
        return 'username'
    return None


# A value that only names another: a variable the secret is read from ($Password,
# %PASS%, #{datastore['DBPASSWORD']}), not the secret.
REFERENCE_ONLY = re.compile(r'^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%[A-Za-z_]+%|#\{[^}]*\})$')


# The words an example writes just before a value that make it a user's name, not a
# secret (`username "SOME_USERNAME"` in a rule whose groups are "username or password").
USER_BEFORE = re.compile(r'(?:user(?:[ _-]?(?:name|id))?|uid)["\']?\s*(?:[=:]|=>)?\s*["\']?$', re.I)


def where_not_what(m, k, g):
    """A group that holds where or under which name the secret is, by its own text: a
    netrc `machine host`, the name of an `<add key="…" value="…">` entry, a reference
    (quoted or not: `"$password"`, `#{datastore['DBPASSWORD']}"`), a value the example
    names a user's, or one that names itself a client id (`oa2-client-id_…`)."""
    after = m.string[m.end(k):m.end(k) + 16]
    before = m.string[max(0, m.start(k) - 24):m.start(k)]
    bare = g.strip().strip('"\'').strip()
    return bool(
        re.match(r'machine\s', g)
        or re.match(r'"\s*value\s*=', after)
        or REFERENCE_ONLY.match(bare)
        or USER_BEFORE.search(before)
        or re.search(r'client[-_]?id', g, re.I)
    )


def np_values(compiled, text, roles=None):
    values = []
    for m in compiled.finditer(text):
        groups = []
        for k, g in enumerate(m.groups() or (), start=1):
            role = (roles or {}).get(k, '')
            if g and not (NOT_SECRET_GROUP.search(role) and not SECRET_GROUP.search(role)) and not where_not_what(m, k, g):
                groups.append(g)
        values += groups or ([] if m.groups() else [m.group(0)])
    return values


def load_detect_secrets(root):
    sys.path.insert(0, root)
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import default_settings
    plugins = {}
    with default_settings():
        for secret_type, cls in get_mapping_from_secret_type_to_class().items():
            try:
                plugins[cls.__name__] = cls()
            except TypeError:
                continue
    return plugins


GENERIC = {'Base64HighEntropyString', 'HexHighEntropyString'}


def ds_values(plugins, text, names=None):
    values = []
    for name, plugin in plugins.items():
        if names is not None and name not in names:
            continue
        try:
            for line in text.splitlines() or [text]:
                # A log line writes assignments as a config file does (key=value, Key: value):
                # detect-secrets' keyword plugin reads them so only in config files.
                for found in plugin.analyze_line(filename='sample.ini', line=line, line_number=1):
                    if found.secret_value:
                        values.append(found.secret_value)
        except Exception:  # a plugin that needs a context we do not give (a verifier)
            continue
    return values


def parametrized(module):
    """(argnames, argvalues) of every parametrize mark on every test function in a module."""
    seen = []
    def visit(obj):
        for mark in getattr(obj, 'pytestmark', []) or []:
            if mark.name == 'parametrize' and len(mark.args) >= 2:
                seen.append((mark.args[0], list(mark.args[1])))
    for value in vars(module).values():
        if isinstance(value, type):
            visit(value)
            for attr in vars(value).values():
                visit(getattr(attr, '__func__', attr))
        elif isinstance(value, types.FunctionType):
            visit(value)
    return seen


def ds_samples(root):
    samples = []
    for path in sorted(glob.glob(os.path.join(root, 'tests/plugins/*_test.py'))):
        stem = os.path.basename(path)[: -len('_test.py')]
        if stem in ('base', 'high_entropy_strings', 'keyword', 'ip_public'):
            # base: the plugin API; high entropy: format strings, not payloads; keyword:
            # source-code forms in tables of (line, value) rather than flags; ip_public:
            # addresses, which we do not redact and detect-secrets marks as such.
            continue
        spec = importlib.util.spec_from_file_location(f'ds_{stem}', path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as e:  # noqa: BLE001
            print(f'detect-secrets {stem}: cannot import ({e})', file=sys.stderr)
            continue
        for argnames, argvalues in parametrized(module):
            for values in argvalues:
                values = getattr(values, 'values', values)
                if not isinstance(values, (tuple, list)) or len(values) < 2:
                    continue
                payload, flag = values[0], values[1]
                if isinstance(payload, str) and isinstance(flag, bool):
                    samples.append({'source': f'detect-secrets tests/plugins/{stem}_test.py', 'kind': stem, 'text': payload, 'positive': flag})
    return samples


def np_samples(rules):
    samples = []
    for rule in rules:
        # Rules of identifiers alone (a Shopify shop's domain, a LinkedIn id) find where a
        # secret may be, not secrets: only rules Nosey Parker files under "secret" count.
        if 'secret' not in (rule.get('categories') or []):
            continue
        kind = rule['id'].split('.')[1] if rule['id'].count('.') >= 2 else rule['id']
        for text in rule.get('examples', []) or []:
            samples.append({'source': f"noseyparker {rule['id']}", 'kind': kind, 'text': text, 'positive': True, 'rule': rule['id']})
        # Negative examples the rule file itself marks as misses ("FIXME: extend this
        # rule so these examples get matched") are secrets, not look-alikes.
        if rule.get('_fixme_negatives'):
            continue
        for text in rule.get('negative_examples', []) or []:
            samples.append({'source': f"noseyparker {rule['id']}", 'kind': kind, 'text': text, 'positive': False, 'rule': rule['id']})
    return samples


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--detect-secrets', required=True)
    ap.add_argument('--noseyparker', required=True)
    ap.add_argument('--out', default=os.path.expanduser('~/.cache/tta-carbon/secrets-eval/independent.json'))
    args = ap.parse_args()

    rules = load_noseyparker(args.noseyparker)
    compiled = {r['id']: compile_rust(r['pattern']) for r in rules}
    roles = {r['id']: group_roles(r['pattern']) for r in rules}
    plugins = load_detect_secrets(args.detect_secrets)
    specific = {n for n in plugins if n not in GENERIC}

    def np_any(text):
        return [v for id, c in compiled.items() if c for v in np_values(c, text, roles[id])]

    secrets, looks, dropped = [], [], {'unlabelled': [], 'disputed': []}
    for s in ds_samples(args.detect_secrets) + np_samples(rules):
        text = s['text']
        if s['positive']:
            own = compiled.get(s.get('rule', '')) if 'rule' in s else None
            values = np_values(own, text, roles[s['rule']]) if own else ds_values(plugins, text, specific)
            if not values:
                values = ds_values(plugins, text, specific) or np_any(text)
            # A value shorter than 8 characters (a Slack workspace id) would be found
            # inside unrelated text: too short to tell a leak by.
            # A host name or URL a rule captured says where the secret is used, not what
            # it is (an Auth0 tenant's domain beside its client secret).
            values = [v for v in values if not HOST.match(v)]
            values = sorted({v for v in values if len(v) >= 8}, key=len, reverse=True)
            if not values:
                dropped['unlabelled'].append(s['source'])
                continue
            secrets.append({'kind': s['kind'], 'source': s['source'], 'text': text, 'values': values})
        else:
            if np_any(text) or ds_values(plugins, text, specific):
                dropped['disputed'].append(s['source'])
                continue
            looks.append({'kind': s['kind'], 'source': s['source'], 'text': text})

    # A negative example that holds a string the sources label a secret in a positive
    # one, or a mutation of one (16 characters or more in common, letters and digits
    # among them), is disputed as well. Such an example tests a detector's exact format:
    # detect-secrets' npm plugin flags `//registry.npmjs.org/:_authToken=<uuid>` and not
    # `_authToken=<uuid>` (.npmrc's syntax), its OpenAI plugin `sk-proj-…T3Blbk…` and not
    # the same key with T4; Nosey Parker's Twitch rule `live_<id>_<key>` and not the key
    # without `live_`. A sanitizer sees the same token in both, and is asked to match
    # families of prefixes rather than exact layouts (issue #33).
    labelled = {v for s in secrets for v in s['values'] if len(v) >= 16}

    def shares_token(text):
        for v in labelled:
            m = difflib.SequenceMatcher(None, text, v, autojunk=False).find_longest_match(0, len(text), 0, len(v))
            common = text[m.a:m.a + m.size]
            if m.size >= 16 and re.search(r'[0-9]', common) and re.search(r'[A-Za-z]', common):
                return True
        return False

    kept = []
    for look in looks:
        if shares_token(look['text']):
            dropped['disputed'].append(look['source'])
        else:
            kept.append(look)
    looks = kept

    def unique(items, key):
        seen, out = set(), []
        for i in items:
            k = key(i)
            if k not in seen:
                seen.add(k)
                out.append(i)
        return out

    corpus = {
        'sources': [
            {'name': 'Yelp/detect-secrets', 'licence': 'Apache-2.0', 'files': 'tests/plugins/*_test.py (parametrize tuples)'},
            {'name': 'praetorian-inc/noseyparker', 'licence': 'Apache-2.0', 'files': 'crates/noseyparker/data/default/builtin/rules/*.yml (examples, negative_examples)'},
        ],
        'secrets': unique(secrets, lambda s: s['text']),
        'lookAlikes': unique(looks, lambda s: s['text']),
        'dropped': {k: len(v) for k, v in dropped.items()},
        'rulesPythonCannotCompile': sorted(k for k, v in compiled.items() if v is None),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(corpus, f, indent=1, ensure_ascii=False)
    print(f"{len(corpus['secrets'])} secrets of {len({s['kind'] for s in corpus['secrets']})} kinds, "
          f"{len(corpus['lookAlikes'])} look-alikes, dropped {corpus['dropped']} -> {args.out}", file=sys.stderr)


if __name__ == '__main__':
    main()
