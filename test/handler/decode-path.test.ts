import test from 'ava'
import { decodePath } from '../../workers/handler/api.js'

test('decodedPath decodes percent-escapes as UTF-8', (t) => {
  t.is(decodePath('/plain/path'), '/plain/path')
  t.is(decodePath('/a%20b'), '/a b')
  t.is(decodePath('/a%2Fb'), '/a/b')
  t.is(decodePath('/caf%C3%A9'), '/café')
})

test('decodedPath keeps control-character escapes as sent: no NUL reaches an app', (t) => {
  t.is(decodePath('/x%00y'), '/x%00y')
  t.is(decodePath('/a%1f%20%7Fb%41'), '/a%1f %7FbA')
  for (let c = 0; c < 0x20; c++) t.false(/[\u0000-\u001f\u007f]/.test(decodePath(`/%${c.toString(16).padStart(2, '0')}`))) // eslint-disable-line no-control-regex
})

test('decodedPath keeps malformed escapes and bad UTF-8 as sent', (t) => {
  t.is(decodePath('/%zz'), '/%zz')
  t.is(decodePath('/%'), '/%')
  t.is(decodePath('/%C3'), '/%C3')
  t.is(decodePath('/%C3x%41'), '/%C3xA')
})
