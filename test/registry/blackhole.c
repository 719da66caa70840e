/*
 * blackhole.c - a listening socket that accepts TCP connections, reads and
 * drops what they send, and never writes a byte: an https:// URL pointing
 * at it hangs in the TLS handshake (the server hello never comes), an
 * http:// one waits for an answer forever.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "registry.h"

#define BH_MAX 1024				/* connections held at once; more wait in the backlog */

static int	listen_fd = -1;
static int	stop_pipe[2] = {-1, -1};
static pthread_t thread;
static bool started;

static void *
bh_main(void *arg)
{
	struct pollfd *pf = calloc(BH_MAX + 2, sizeof(struct pollfd));
	int			n = 2;
	char		buf[4096];

	if (pf == NULL)
		return NULL;
	pf[0].fd = stop_pipe[0];
	pf[0].events = POLLIN;
	pf[1].fd = listen_fd;
	pf[1].events = POLLIN;
	for (;;)
	{
		if (poll(pf, n, -1) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			break;
		for (int i = n - 1; i >= 2; i--)
		{
			if (pf[i].revents == 0)
				continue;
			/* read and drop; a closed or failed connection goes */
			if (read(pf[i].fd, buf, sizeof(buf)) <= 0)
			{
				close(pf[i].fd);
				pf[i] = pf[--n];
			}
		}
		if ((pf[1].revents & POLLIN) && n < BH_MAX + 2)
		{
			int			fd = accept(listen_fd, NULL, NULL);

			if (fd >= 0)
			{
				pf[n].fd = fd;
				pf[n].events = POLLIN;
				pf[n].revents = 0;
				n++;
				STAT_ADD(blackhole_connections, 1);
			}
		}
		/* full: stop polling the listener until one goes */
		pf[1].events = n < BH_MAX + 2 ? POLLIN : 0;
	}
	for (int i = 2; i < n; i++)
		close(pf[i].fd);
	free(pf);
	return NULL;
}

int
blackhole_start(int *port, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	socklen_t	len = sizeof(sa);
	int			one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		bind(listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
		listen(listen_fd, 128) < 0 ||
		getsockname(listen_fd, (struct sockaddr *) &sa, &len) < 0 ||
		pipe(stop_pipe) < 0)
	{
		snprintf(err, errlen, "blackhole listener: %s", strerror(errno));
		blackhole_stop();
		return -1;
	}
	if (pthread_create(&thread, NULL, bh_main, NULL) != 0)
	{
		snprintf(err, errlen, "cannot start the blackhole thread");
		blackhole_stop();
		return -1;
	}
	started = true;
	*port = ntohs(sa.sin_port);
	return 0;
}

void
blackhole_stop(void)
{
	if (started)
	{
		ssize_t		w = write(stop_pipe[1], "x", 1);

		(void) w;
		pthread_join(thread, NULL);
		started = false;
	}
	if (listen_fd >= 0)
		close(listen_fd);
	for (int i = 0; i < 2; i++)
		if (stop_pipe[i] >= 0)
			close(stop_pipe[i]);
	listen_fd = stop_pipe[0] = stop_pipe[1] = -1;
}
