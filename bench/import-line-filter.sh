#!/bin/bash
# Import CPU per row: main's build vs fix-cli's, alternating, same file, fresh data directory each run.
# Usage: bench/import-line-filter.sh MAIN_BIN_DIR FIX_BIN_DIR  (copies of src/Custodian/bin/Debug/net10.0 of each build),
# run in a directory holding big150.csv ('custodian sample --subscribers 150000 --out big150.csv').
MAIN=$1/custodian.dll
FIX=$2/custodian.dll
for round in 1 2; do
  for which in main fix; do
    dll=$MAIN; [ $which = fix ] && dll=$FIX
    for mode in all-or-nothing skip-bad-rows; do
      rm -rf bd; dotnet $dll init --data bd > /dev/null
      load=$(cut -d' ' -f1 /proc/loadavg)
      out=$( { /usr/bin/time -f "%U %S %e" dotnet $dll import big150.csv --mode $mode --data bd > /dev/null; } 2>&1 | tail -1)
      echo "$round $which $mode $out load=$load"
    done
  done
done
