/* SPDX-License-Identifier: Apache-2.0 */
#include "ag_test.h"

static void test_placeholder(void)
{
    ASSERT(1);
}

AG_TEST_MAIN(AG_TEST_CASE(test_placeholder))
