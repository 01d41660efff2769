export { applyUpper, type CommitSummary } from './commit.ts';
export { diffSession, type DiffEntry } from './diff.ts';
export { MARKERS_FILE, vfsUpperFiles } from './materialize.ts';
export {
  assertVisible,
  isHidden,
  listMerged,
  lookupMerged,
  openMerged,
  readMerged,
  statVisible,
  type MergedNode,
  type OverlayEntry,
  type OverlayView,
} from './merged.ts';
export { bytesFile, handleFile, type OpenedFile } from './opened-file.ts';
export { collectTree, planMkdir, planRemove, planRename, planWrite, type PlanOptions } from './plan.ts';
export { VfsService, type VfsChangeReceipt, type VfsPort, type VfsStat } from './service.ts';
export {
  REVOCATIONS_PROJECTION,
  VFS_PROJECTION,
  belowPrefix,
  childNames,
  entriesBelow,
  entryKey,
  entryValue,
  listSessions,
  readEntry,
  readSession,
  sessionKey,
  type SessionInfo,
  type SessionStatus,
  type UpperEntry,
} from './upper-state.ts';
