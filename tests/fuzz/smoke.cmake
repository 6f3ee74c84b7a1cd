# The fuzz smoke of `make test` (CTest label fuzz), included by tests/CMakeLists.txt.
# The targets need clang and libFuzzer, so they live in a build of their own
# (AMO_FUZZ_BUILD_DIR, default <build>/fuzz): test fuzz_build configures and builds it with
# clang (ccache makes a rebuild cheap), then fuzz_<target> runs each over its seed corpus
# for FUZZ_RUNS executions with a fixed seed. Without clang++-14 and its fuzzer runtime the
# tests are not registered (`make test` installs both).
include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)
set(AMO_FUZZ_BUILD_DIR "${CMAKE_BINARY_DIR}/fuzz" CACHE PATH "Build directory of the fuzz targets")
set(AMO_FUZZ_RUNS 3000 CACHE STRING "Executions per fuzz target in the smoke test")

find_program(AMO_FUZZ_CXX NAMES clang++-14 clang++)
set(_probe_ok FALSE)
if(AMO_FUZZ_CXX)
  set(_probe ${CMAKE_BINARY_DIR}/fuzz-probe)
  file(WRITE ${_probe}.cpp
       "#include <cstddef>\n#include <cstdint>\n"
       "extern \"C\" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n")
  execute_process(COMMAND ${AMO_FUZZ_CXX} -fsanitize=fuzzer,address,undefined ${_probe}.cpp
                          -o ${_probe}
                  RESULT_VARIABLE _probe_rc OUTPUT_QUIET ERROR_QUIET)
  if(_probe_rc EQUAL 0)
    set(_probe_ok TRUE)
  endif()
endif()

if(NOT _probe_ok)
  message(STATUS "fuzz: no clang++ with libFuzzer (clang-14, libclang-rt-14-dev); fuzz tests skipped")
  return()
endif()

include(ProcessorCount)
ProcessorCount(_jobs)
if(_jobs EQUAL 0)
  set(_jobs 2)
endif()
add_test(NAME fuzz_build
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/fuzz/build.sh ${CMAKE_SOURCE_DIR}
                 ${AMO_FUZZ_BUILD_DIR} ${AMO_FUZZ_CXX} ${_jobs})
set_tests_properties(fuzz_build PROPERTIES LABELS fuzz TIMEOUT 2400 FIXTURES_SETUP amo_fuzz_bin)
foreach(t ${AMO_FUZZ_TARGETS})
  add_test(NAME fuzz_${t}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/fuzz/run.sh smoke ${AMO_FUZZ_BUILD_DIR} ${t})
  set_tests_properties(fuzz_${t} PROPERTIES LABELS fuzz TIMEOUT 300 FIXTURES_REQUIRED amo_fuzz_bin
                       ENVIRONMENT "FUZZ_RUNS=${AMO_FUZZ_RUNS}")
endforeach()
