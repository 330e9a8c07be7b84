/* Placeholder until the implementation lands: the interface is in ex_aws_client.h. */
#include "ex_aws_client.h"
