#include "vectors.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

int vector_list(char names[][96], int max)
{
	DIR *d = opendir(test_vectors_dir());
	int n = 0;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		size_t len = strlen(e->d_name);
		if (len > 8 && strcmp(e->d_name + len - 8, ".c2s.bin") == 0 &&
		    strncmp(e->d_name, "windows10-real", 14) != 0 && len - 8 < 96) {
			memcpy(names[n], e->d_name, len - 8);
			names[n][len - 8] = 0;
			n++;
		}
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof names[0], by_name);
	return n;
}

bool conversation_load(const char *name, conversation *c)
{
	char file[160];
	memset(c, 0, sizeof *c);
	snprintf(file, sizeof file, "%s.c2s.bin", name);
	c->c2s = test_read_vector(file, &c->c2s_len);
	snprintf(file, sizeof file, "%s.s2c.bin", name);
	c->s2c = test_read_vector(file, &c->s2c_len);
	if (!c->c2s || !c->s2c)
		return false;

	/* the client's side, as the recording host saw it: NDR64 taken only
	 * if its bind_ack or alter_context_resp accepted NDR64 */
	rpc_contexts contexts = { 0 };
	rpc_host_options host = { .ndr64 = false, .btfn = true };
	size_t off = 0, len;
	while (off < c->s2c_len && rpc_frame(c->s2c + off, c->s2c_len - off, &len) == RPC_OK) {
		rpc_bind_ack ack;
		if (rpc_bind_ack_decode(c->s2c + off, len, &ack) == RPC_OK)
			for (int r = 0; r < ack.n_results; r++)
				host.ndr64 |= ack.results[r].result == RPC_RESULT_ACCEPT &&
					      rpc_syntax_classify(&ack.results[r].transfer, NULL) ==
						      RPC_SYNTAX_NDR64;
		off += len;
	}
	off = 0;
	while (off < c->c2s_len && rpc_frame(c->c2s + off, c->c2s_len - off, &len) == RPC_OK) {
		const uint8_t *pdu = c->c2s + off;
		if (pdu[2] == RPC_BIND || pdu[2] == RPC_ALTER_CONTEXT) {
			rpc_bind b;
			rpc_bind_ack ack;
			if (rpc_bind_decode(pdu, len, &b) != RPC_OK)
				return false;
			rpc_bind_negotiate(&b, &host, &contexts, &ack);
		} else if (pdu[2] == RPC_REQUEST) {
			rpc_request r;
			if (rpc_request_decode(pdu, len, &r) != RPC_OK)
				return false;
			c->syntax = rpc_contexts_syntax(&contexts, r.context_id);
			if (rpc_stub_decode(c->syntax, r.stub, r.stub_len, &c->request_msg,
					    &c->request_len) != RPC_OK)
				return false;
		}
		off += len;
	}
	if (!c->request_msg || off != c->c2s_len)
		return false;
	if (kms_request_decode(c->request_msg, c->request_len, &c->request, &c->secret) != KMS_OK)
		return false;
	c->client = (kms_client_secret){ .major = c->secret.major, .minor = c->secret.minor,
					 .cmid = c->request.cmid,
					 .client_time = c->request.client_time };
	memcpy(c->client.iv, c->secret.iv, 16);
	memcpy(c->client.decrypted_iv, c->secret.decrypted_iv, 16);

	/* the host's side: the last PDU is the response */
	off = 0;
	const uint8_t *last = NULL;
	size_t last_len = 0;
	while (off < c->s2c_len && rpc_frame(c->s2c + off, c->s2c_len - off, &len) == RPC_OK) {
		last = c->s2c + off;
		last_len = len;
		off += len;
	}
	if (!last || off != c->s2c_len)
		return false;
	rpc_response resp;
	uint32_t status;
	if (rpc_response_decode(last, last_len, c->syntax, &resp, &c->response_msg,
				&c->response_len, &status) != RPC_OK || status != 0)
		return false;
	return true;
}

void conversation_free(conversation *c)
{
	free(c->c2s);
	free(c->s2c);
	c->c2s = c->s2c = NULL;
}

bool vector_txt_field(const char *name, const char *label, char *out, size_t len)
{
	char path[1024], line[512];
	snprintf(path, sizeof path, "%s/%s.txt", test_vectors_dir(), name);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool found = false;
	size_t label_len = strlen(label);
	while (!found && fgets(line, sizeof line, f)) {
		if (strncmp(line, label, label_len) != 0)
			continue;
		const char *colon = strchr(line + label_len, ':');
		if (!colon)
			continue;
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		size_t n = strcspn(v, "\r\n");
		while (n > 0 && v[n - 1] == ' ')
			n--;
		if (n >= len)
			n = len - 1;
		memcpy(out, v, n);
		out[n] = 0;
		found = true;
	}
	fclose(f);
	return found;
}
