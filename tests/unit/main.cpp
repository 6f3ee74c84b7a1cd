#define BOOST_TEST_MODULE amo_unit
#include <boost/test/unit_test.hpp>
