# The fuzz targets: tests/fuzz/fuzz_<name>.cpp each, seeds in tests/fuzz/corpus/<name>/.
set(AMO_FUZZ_TARGETS
  query json_body app jwt jwt_signed accept_language host
  amo_parse amo_leads amo_pipelines json time text)
