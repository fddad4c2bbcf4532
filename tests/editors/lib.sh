# Helpers shared by the editor end-to-end runners (sourced).

# Copies the fixture workspace to a fresh temporary directory with an empty
# .git/ (the root marker editors look for) and prints its real path.
editors_workspace_copy() {
  local src dir
  src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/workspace"
  dir="$(mktemp -d "${TMPDIR:-/tmp}/flux-lsp-editors.XXXXXX")"
  cp -R "$src/." "$dir/"
  rm -f "$dir/README.md"
  mkdir -p "$dir/.git"
  (cd "$dir" && pwd -P)
}
