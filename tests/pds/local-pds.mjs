// The real Bluesky PDS (@atproto/pds) and an in-memory PLC directory (@did-plc/server), on 127.0.0.1 only,
// for OCMA's end-to-end tests. No Postgres, no Redis, no AppView: app.bsky.* reads proxied to an AppView fail
// fast (502) against a dead loopback port, as on a PDS the AppView does not know yet.
// Usage: node local-pds.mjs   env: PLC_PORT (2582) PDS_PORT (2583) PDS_DATA_DIR (default: a temp dir, removed on exit)
// Prints one JSON line {"ready": true, "pds": ..., "plc": ...} once both serve; SIGTERM stops both.
import net from 'node:net'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

// PDS and PLC call app.listen(port), which binds every interface; keep them on loopback.
const HOST = '127.0.0.1'
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, HOST)
  } else if (args[0] && typeof args[0] === 'object' && args[0].path === undefined && !args[0].host) {
    args[0] = { ...args[0], host: HOST }
  }
  return listen.apply(this, args)
}

const pick = (m, k) => (m[k] ? m : m.default) // CJS and ESM builds alike
const pdsMod = pick(await import('@atproto/pds'), 'PDS')
const plcMod = pick(await import('@did-plc/server'), 'PlcServer')
const { Secp256k1Keypair } = pick(await import('@atproto/crypto'), 'Secp256k1Keypair')

const PLC_PORT = Number(process.env.PLC_PORT ?? 2582)
const PDS_PORT = Number(process.env.PDS_PORT ?? 2583)
const tmpData = !process.env.PDS_DATA_DIR
const dataDir = process.env.PDS_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ocma-pds-'))
fs.mkdirSync(dataDir, { recursive: true })

const plc = plcMod.PlcServer.create({ db: plcMod.Database.mock(), port: PLC_PORT })
await plc.start()

const rotationKey = await Secp256k1Keypair.create({ exportable: true })
const env = {
  devMode: true,
  hostname: 'localhost', // public URL http://localhost:PDS_PORT
  port: PDS_PORT,
  dataDirectory: dataDir,
  blobstoreDiskLocation: path.join(dataDir, 'blobs'),
  didPlcUrl: `http://localhost:${PLC_PORT}`,
  plcRotationKeyK256PrivateKeyHex: Buffer.from(await rotationKey.export()).toString('hex'),
  recoveryDidKey: (await Secp256k1Keypair.create()).did(),
  adminPassword: process.env.PDS_ADMIN_PASSWORD ?? 'admin-pass',
  jwtSecret: 'ocma-test-jwt-secret',
  serviceHandleDomains: ['.test'],
  inviteRequired: false,
  disableSsrfProtection: true,
  // Nothing listens on 127.0.0.1:9, so a proxied app.bsky.* call fails locally instead of looking up a host.
  bskyAppViewUrl: 'http://127.0.0.1:9',
  bskyAppViewDid: 'did:example:appview',
  bskyAppViewCdnUrlPattern: 'http://127.0.0.1:9/%s/%s/%s',
  modServiceUrl: 'http://127.0.0.1:9',
  modServiceDid: 'did:example:mod',
  crawlers: [],
}
const pds = await pdsMod.PDS.create(pdsMod.envToCfg(env), pdsMod.envToSecrets(env))
await pds.start()
console.log(JSON.stringify({ ready: true, plc: `http://localhost:${PLC_PORT}`, pds: `http://localhost:${PDS_PORT}` }))

let closing = false
const stop = async () => {
  if (closing) return
  closing = true
  await pds.destroy().catch((e) => console.error(e))
  await plc.destroy().catch((e) => console.error(e))
  if (tmpData) fs.rmSync(dataDir, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
