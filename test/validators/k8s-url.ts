/**
 * Kubernetes' CEL URL library (k8s.io/apiserver/pkg/cel/library/urls.go):
 * `url(string)`, `isURL(string)` and the URL's `getScheme()`, `getHost()`,
 * `getHostname()`, `getPort()`, `getEscapedPath()` and `getQuery()`, on top
 * of Go's `url.ParseRequestURI`, which that library calls. @bufbuild/cel has
 * no opaque value types, so a URL is a CEL map that only these methods read.
 *
 * @see https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-url-library
 */
import { celFunc, celMethod, CelScalar, listType, mapType, type CelFunc, type CelMap } from '@bufbuild/cel';

/** The parts of a URL that Go's `url.URL` keeps and the library reads. */
interface ParsedUrl {
  scheme: string;
  opaque: string;
  host: string;
  path: string;
  rawPath: string;
  rawQuery: string;
}

const HEX = /^[0-9a-fA-F]{2}$/;
const ALNUM = /[a-zA-Z0-9]/;

type Mode = 'path' | 'host' | 'userinfo' | 'query';

/** Go's `shouldEscape` for the modes these functions use. */
function shouldEscape(c: string, mode: Mode): boolean {
  if (ALNUM.test(c)) return false;
  if (mode === 'host' && '!$&\'()*+,;=:[]<>"'.includes(c)) return false;
  if ('-_.~'.includes(c)) return false;
  if (mode === 'path' && '$&+,/:;=@'.includes(c)) return false;
  return true;
}

/** Go's `unescape`: percent-decodes `s`, with its errors for bad escapes and, in hosts, bad characters. */
function unescape(s: string, mode: Mode): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s[i];
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!HEX.test(hex)) throw new Error(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      if (mode === 'host' && parseInt(hex[0], 16) < 8 && hex !== '25') throw new Error(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      bytes.push(parseInt(hex, 16));
      i += 3;
      continue;
    }
    if (mode === 'host' && c.charCodeAt(0) < 0x80 && shouldEscape(c, mode)) throw new Error(`invalid character ${JSON.stringify(c)} in host name`);
    bytes.push(...(mode === 'query' && c === '+' ? [0x20] : Buffer.from(c, 'utf8')));
    i += 1;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Go's `escape` in path mode. */
function escapePath(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && !shouldEscape(c, 'path') ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

function parseHost(host: string): string {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) throw new Error("missing ']' in host");
    if (!validOptionalPort(host.slice(i + 1))) throw new Error(`invalid port ${JSON.stringify(host.slice(i + 1))} after host`);
  } else {
    const i = host.lastIndexOf(':');
    if (i !== -1 && !validOptionalPort(host.slice(i))) throw new Error(`invalid port ${JSON.stringify(host.slice(i))} after host`);
  }
  return unescape(host, 'host');
}

/** Go's `url.ParseRequestURI`: an absolute URI or an absolute path, no fragment. */
export function parseRequestUri(raw: string): ParsedUrl {
  if (/[\x00-\x1f\x7f]/.test(raw)) throw new Error('net/url: invalid control character in URL');
  if (raw === '') throw new Error('empty url');
  const url: ParsedUrl = { scheme: '', opaque: '', host: '', path: '', rawPath: '', rawQuery: '' };
  if (raw === '*') return { ...url, path: '*' };
  let rest = raw;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(raw);
  if (raw.startsWith(':')) throw new Error('missing protocol scheme');
  if (scheme) {
    url.scheme = scheme[1].toLowerCase();
    rest = raw.slice(scheme[0].length);
  }
  if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) {
    rest = rest.slice(0, -1);
  } else if (rest.includes('?')) {
    url.rawQuery = rest.slice(rest.indexOf('?') + 1);
    rest = rest.slice(0, rest.indexOf('?'));
  }
  if (!rest.startsWith('/')) {
    if (url.scheme !== '') return { ...url, opaque: rest };
    throw new Error('invalid URI for request');
  }
  if (url.scheme !== '' && rest.startsWith('//')) {
    let authority = rest.slice(2);
    rest = '';
    const slash = authority.indexOf('/');
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const at = authority.lastIndexOf('@');
    url.host = parseHost(authority.slice(at + 1));
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!/^[a-zA-Z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) throw new Error('net/url: invalid userinfo');
      unescape(userinfo, 'userinfo');
    }
  }
  url.path = unescape(rest, 'path');
  url.rawPath = escapePath(url.path) === rest ? '' : rest;
  return url;
}

/** Go's `URL.EscapedPath`. */
function escapedPath(u: ParsedUrl): string {
  if (u.rawPath !== '' && /^[a-zA-Z0-9\-._~!$&'()*+,;=:@[\]%/]*$/.test(u.rawPath)) {
    try {
      if (unescape(u.rawPath, 'path') === u.path) return u.rawPath;
    } catch {
      // not a valid encoding of the path: escape the path instead, as Go does
    }
  }
  return u.path === '*' ? '*' : escapePath(u.path);
}

/** Go's `URL.Hostname` and `URL.Port`. */
function splitHostPort(host: string): { hostname: string; port: string } {
  let hostname = host;
  let port = '';
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && validOptionalPort(host.slice(colon))) {
    hostname = host.slice(0, colon);
    port = host.slice(colon + 1);
  }
  if (hostname.startsWith('[') && hostname.endsWith(']')) hostname = hostname.slice(1, -1);
  return { hostname, port };
}

/** Go's `url.ParseQuery`, keeping the pairs it can read, as `URL.Query` does. */
function query(rawQuery: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    try {
      const key = unescape(eq < 0 ? pair : pair.slice(0, eq), 'query');
      const value = eq < 0 ? '' : unescape(pair.slice(eq + 1), 'query');
      out.set(key, [...(out.get(key) ?? []), value]);
    } catch {
      // URL.Query drops a pair that does not decode
    }
  }
  return out;
}

/** Marks the CEL maps that stand for URLs. */
const URL_KEY = '\u0000kubernetes.url';

function asUrl(map: CelMap): ParsedUrl {
  const raw = map.get(URL_KEY);
  if (typeof raw !== 'string') throw new Error('no such overload: not a URL');
  return parseRequestUri(raw);
}

const MAP = mapType(CelScalar.DYN, CelScalar.DYN);
const { STRING, BOOL } = CelScalar;

/** The library's functions, for a CEL environment. */
export const URL_LIBRARY: CelFunc[] = [
  celFunc('url', [STRING], MAP, (raw: string) => {
    try {
      parseRequestUri(raw);
    } catch (err) {
      throw new Error(`URL parse error during conversion from string: ${(err as Error).message}`);
    }
    return new Map([[URL_KEY, raw]]);
  }),
  celFunc('isURL', [STRING], BOOL, (raw: string) => {
    try {
      parseRequestUri(raw);
      return true;
    } catch {
      return false;
    }
  }),
  celMethod('getScheme', MAP, [], STRING, function () {
    return asUrl(this).scheme;
  }),
  celMethod('getHost', MAP, [], STRING, function () {
    return asUrl(this).host;
  }),
  celMethod('getHostname', MAP, [], STRING, function () {
    return splitHostPort(asUrl(this).host).hostname;
  }),
  celMethod('getPort', MAP, [], STRING, function () {
    return splitHostPort(asUrl(this).host).port;
  }),
  celMethod('getEscapedPath', MAP, [], STRING, function () {
    return escapedPath(asUrl(this));
  }),
  celMethod('getQuery', MAP, [], mapType(STRING, listType(STRING)), function () {
    return query(asUrl(this).rawQuery);
  }),
];
