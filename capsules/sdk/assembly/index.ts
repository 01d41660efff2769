// Astrid capsule SDK for AssemblyScript. Import it as "astrid-sdk" (the build tool maps the
// name to this folder) and build with `buildCapsuleWasm()`, which applies the preset.
export { astridAbort, astridSeed } from "./abort";
export { configGet, ipcPoll, ipcPublish, ipcSubscribe, ipcUnsubscribe, kvDelete, kvGet, kvList, kvSet, log } from "./airlocks";
export { base64Decode } from "./base64";
export {
  FS_CHUNK, FS_WRITE_PIECE, FsChunk, FsEntry, FsStat, fsClose, fsMkdir, fsOpen, fsRead, fsReadFile, fsReadText, fsReaddir,
  fsRemove, fsRename, fsStat, fsWrite, fsWriteFile, fsWriteText,
} from "./fs";
export { readMessage } from "./handler";
export { fail, input, inputString, output, outputString, quote } from "./io";
export { allocBytes, allocString, readBytes, readString, release } from "./memory";
export { AirlockError, Batch, BusMessage, lastError } from "./results";
