#include "answerer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms/products.h"

bool fixture_host(host_settings *s, const char *epid, const uint8_t hwid[KMS_HWID_LEN])
{
	memset(s, 0, sizeof *s);
	s->table = kms_products_current();
	kms_policy_defaults(&s->policy);
	s->activation_interval = 120;
	s->renewal_interval = 10080;
	memcpy(s->hwid, hwid, KMS_HWID_LEN);
	s->rpc.ndr64 = s->rpc.btfn = true;
	s->epids = calloc(s->table->n_csvlks, sizeof *s->epids);
	if (!s->epids)
		return false;
	for (size_t i = 0; i < s->table->n_csvlks; i++)
		snprintf(s->epids[i], sizeof s->epids[i], "%s", epid);
	return true;
}

void fixture_assoc(answer_assoc *a)
{
	memset(a, 0, sizeof *a);
	a->assoc_group = 0x10001;
	snprintf(a->port, sizeof a->port, "1688");
}

size_t feed(answer_assoc *a, const answer_host *h, const uint8_t *in, size_t len, uint8_t *out,
	    size_t cap, size_t *written, answer_outcome *outcomes, size_t max)
{
	size_t n = 0, off = 0;
	*written = 0;
	while (off < len && n < max) {
		answer_outcome *o = &outcomes[n];
		answer_pdu(a, h, in + off, len - off, out + *written, cap - *written, o);
		if (o->kind == ANSWER_INCOMPLETE)
			break;
		n++;
		*written += o->written;
		off += o->used;
		if (o->close || !o->used)
			break;
	}
	return n;
}

bool client_accepts(const uint8_t *pdu, size_t len, rpc_syntax_kind syntax,
		    const kms_client_secret *cs, kms_response *kr)
{
	rpc_response resp;
	const uint8_t *msg;
	size_t msg_len;
	uint32_t status;
	kms_verdict v;
	return rpc_response_decode(pdu, len, syntax, &resp, &msg, &msg_len, &status) == RPC_OK &&
	       status == 0 && kms_response_verify(cs, msg, msg_len, kr, &v) == KMS_OK &&
	       v.failed == 0;
}
