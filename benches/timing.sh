# Shared by the side-by-side scripts in benches/ (sourced, not run). Each function runs in the script's
# work directory, where the command under test writes `out.tmp`.

# One timed run of "$@": prints wall seconds from bash's $EPOCHREALTIME around the bare command (GNU time's
# %e has only 10 ms, and running under GNU time adds about 4 ms to every run, which would flatter the
# slower tool). Before it the output file is removed (neither tool pays for truncating the previous one)
# and dirty pages are flushed with `sync` (neither pays for the write-back of what ran before it).
timed() {
  local t0 t1
  rm -f out.tmp
  sync
  t0=$EPOCHREALTIME
  "$@" >/dev/null 2>err.txt || { cat err.txt >&2; exit 1; }
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f\n", b - a}'
}

# Peak RSS in KiB of one run of "$@", from GNU time.
rss() {
  rm -f out.tmp
  /usr/bin/time -f "%M" -o t.txt "$@" >/dev/null 2>err.txt || { cat err.txt >&2; exit 1; }
  cat t.txt
}

# The median of the numbers on standard input, one per line.
median() { sort -n | awk '{s[NR]=$1} END {print s[int((NR+1)/2)]}'; }
