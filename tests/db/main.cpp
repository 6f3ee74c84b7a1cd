#define BOOST_TEST_MODULE amo_db
#include <boost/test/unit_test.hpp>
