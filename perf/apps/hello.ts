/**
 * The handler-host app of the `sb-ts-*` contenders: every request gets `Hello World\n`
 * (the host answers 200 with Content-Type text/plain and Content-Length 12).
 */
import type { Handler } from '../../workers/handler/api.js'

const kHello = 'Hello World\n'

const hello: Handler = () => kHello
export default hello
