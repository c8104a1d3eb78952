// Checks the peer URLs of a membership change before it is sent, as clientv3
// does in MemberAdd and MemberUpdate ("fail-fast before panic in rafthttp");
// `kvctl member add` and `member update` call it before sending.
//
// The rules and the error strings are those of etcd's types.NewURLs on top of
// Go's net/url.Parse, so kvctl reports a bad --peer-urls value exactly as
// etcdctl does:
//   - url.Parse errors: `parse ":::": missing protocol scheme`,
//     `parse "http://a b:1": invalid character " " in host name`,
//     `parse "http://[::1": missing ']' in host`,
//     `parse "http://%zz:1": invalid URL escape "%zz"`,
//     `parse "http://a\x01:1": net/url: invalid control character in URL`;
//   - `URL scheme must be http, https, unix, or unixs: foo`;
//   - `URL address does not have the form "host:port": http://foo`;
//   - `URL must not contain a path: http://foo:1/path`;
//   - `no valid URLs given` for an empty list.
// Each URL is trimmed of surrounding white space first, as NewURLs does; the
// URLs are sent as given (the server trims and normalizes them).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace etcdd::cli {

// OK if every URL is an http, https, unix or unixs URL of the form
// scheme://host:port without a path. Errors: InvalidArgument with the
// message of the first bad URL (see above).
Status ValidatePeerUrls(const std::vector<std::string>& urls);

}  // namespace etcdd::cli
