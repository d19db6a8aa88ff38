/*
 * web-assets.h: the dashboard's files, built into milepostd by
 * web/embed.sh (the generated web-assets.c); served by api-web.c.
 */
#ifndef WEB_ASSETS_H
#define WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char		*name;	/* "index.html", "app.js", ... */
	const char		*ctype;
	const unsigned char	*data;
	size_t			 len;
};
extern const struct web_asset web_assets[];	/* NULL name ends it */

#endif /* WEB_ASSETS_H */
