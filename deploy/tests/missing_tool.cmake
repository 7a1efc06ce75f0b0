# Stands in for a tool the deploy tests need but configure did not find, so
# the test fails with the reason instead of being skipped.
# cmake -DTOOL=promtool -DPACKAGE=prometheus -P missing_tool.cmake
message(FATAL_ERROR "${TOOL} is missing: install the Debian package ${PACKAGE} (scripts/test.sh does), then re-run cmake")
