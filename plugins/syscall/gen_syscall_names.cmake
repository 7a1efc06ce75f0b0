# Generates syscall_names.inc from the kernel's uapi header at build time:
#   cmake -DHEADER=<asm/unistd_64.h> -DOUTPUT=<file> -P gen_syscall_names.cmake
file(STRINGS "${HEADER}" lines REGEX "^#define __NR_[a-z0-9_]+ [0-9]+$")
set(body "")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^#define __NR_([a-z0-9_]+) ([0-9]+)$" "{\\2, \"\\1\"}," entry "${line}")
  string(APPEND body "    ${entry}\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from ${HEADER}; do not edit.\n${body}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
