/*
 * Functions that are easy to misuse; use the bounded or reentrant
 * replacements named beside each instead. Included from common.h, after
 * the system headers a file needs would be too late, so it only poisons
 * names when they are called.
 */
#ifndef CD_BANNED_H
#define CD_BANNED_H

#define CD_BANNED(func) sorry_##func##_is_banned

#undef strcpy
#define strcpy(x, y) CD_BANNED(strcpy)		/* use snprintf */
#undef strcat
#define strcat(x, y) CD_BANNED(strcat)		/* use snprintf */
#undef sprintf
#define sprintf(...) CD_BANNED(sprintf)	/* use snprintf */
#undef strtok
#define strtok(x, y) CD_BANNED(strtok)		/* use strtok_r */
#undef gmtime
#define gmtime(t) CD_BANNED(gmtime)		/* use gmtime_r */
#undef localtime
#define localtime(t) CD_BANNED(localtime)	/* use localtime_r */
#undef atoi
#define atoi(x) CD_BANNED(atoi)		/* use util_parse_u64 */

#endif
