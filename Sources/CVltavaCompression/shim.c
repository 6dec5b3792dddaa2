#include "CVltavaCompression.h"
