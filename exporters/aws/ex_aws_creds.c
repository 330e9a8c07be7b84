/* Placeholder until the implementation lands: the interface is in ex_aws_creds.h. */
#include "ex_aws_creds.h"
