/*
 * http_server.h - the libmicrohttpd daemon (http_server.c).
 */
#ifndef DCI_REGISTRY_HTTP_SERVER_H
#define DCI_REGISTRY_HTTP_SERVER_H

#include <stddef.h>

/* Listen on 127.0.0.1:port (0 = any free port); the port bound goes to *bound_port. */
int			http_start(int port, int threads, int *bound_port, char *err, size_t errlen);
void		http_stop(void);

#endif
