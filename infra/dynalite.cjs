// dynalite (infra/node_modules/dynalite/cli.js, same flags) with its
// LevelDB store (--path, WW_DDB_STORAGE=disk) tuned for a city's tables.
// LevelDB's defaults (2 MB table files, 1000 open at most, 4 MB write
// buffer, 8 MB block cache) make a 10× city's 6 GB of tables 3,000 files,
// more than it keeps open: every read then reopens a file, and each write
// gets slower as the tables grow. Bigger files, buffer and cache keep the
// cost of a write flat.
'use strict'
const level = require('level')
const { ClassicLevel } = require('classic-level')

const fdLimit = Number(process.env.WW_DDB_OPEN_FILES || 1000)

class TunedLevel extends ClassicLevel {
  constructor (location, options) {
    super(location, {
      ...options,
      writeBufferSize: 64 << 20,
      maxFileSize: 32 << 20,
      cacheSize: 256 << 20,
      maxOpenFiles: Math.max(500, fdLimit),
    })
  }
}

// dynalite takes Level from require('level') when it loads: the same module.
level.Level = TunedLevel
require('dynalite/cli.js')
