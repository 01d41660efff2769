/**
 * Paths hidden at any depth, whatever `.astridignore` says: they are not readable, not
 * listed, not writable and not a rename target. They come after every file's rules, so a
 * `!` line in an `.astridignore` can never re-include one (an agent that manages to write an
 * `.astridignore` cannot unhide secrets).
 *
 * - `.git` (the directory, or the file of a linked worktree or submodule): git internals
 *   hold hooks, config with remote credentials and the object store; the agent works on
 *   the tree, and git operations run through the workspace, not the VFS. Invisible, hence
 *   also never writable.
 * - Environment files: `.env`, `.env.*` (also `.env.example`: the list has no exceptions, as
 *   a `!` here would re-include what a user hid), `.envrc`.
 * - Private keys and keystores: `*.pem`, `*.key`, `*.p12`, `*.pfx`, `*.jks`, `*.keystore`,
 *   `*.ppk`, `id_rsa*`, `id_dsa*`, `id_ecdsa*`, `id_ed25519*` (public halves too: cheap to lose).
 * - Credential folders: `.ssh/`, `.aws/`, `.gnupg/`, `.azure/`, `.kube/`, `.docker/`,
 *   `.config/gcloud/` at any depth.
 * - Credential files: `.netrc`, `_netrc`, `.npmrc`, `.pypirc`, `.pgpass`, `.git-credentials`,
 *   `.htpasswd`, `.vault-token`, `credentials*.json`, `client_secret*.json`,
 *   `service-account*.json`, Terraform state (`*.tfstate`, `*.tfstate.backup`).
 */
export const BUILTIN_HIDDEN_RULES: readonly string[] = Object.freeze([
  '.git',
  '.env',
  '.env.*',
  '.envrc',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  '*.jks',
  '*.keystore',
  '*.ppk',
  'id_rsa*',
  'id_dsa*',
  'id_ecdsa*',
  'id_ed25519*',
  '.ssh/',
  '.aws/',
  '.gnupg/',
  '.azure/',
  '.kube/',
  '.docker/',
  '**/.config/gcloud/',
  '.netrc',
  '_netrc',
  '.npmrc',
  '.pypirc',
  '.pgpass',
  '.git-credentials',
  '.htpasswd',
  '.vault-token',
  'credentials*.json',
  'client_secret*.json',
  'service-account*.json',
  '*.tfstate',
  '*.tfstate.backup',
]);

/**
 * Paths that stay visible but are never writable, deletable or a rename target: the
 * boundary's own `.astridignore` files, so an agent cannot loosen its own limits.
 */
export const BUILTIN_PROTECTED_RULES: readonly string[] = Object.freeze(['.astridignore']);
