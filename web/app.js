// The web app's page: a host of the <shard-impute> element (element.js),
// which holds the whole UI. `?threads=N` in the page's address caps the
// thread pool; it is set before the element starts.

const threads = new URLSearchParams(location.search).get('threads');
if (threads) document.querySelector('shard-impute').setAttribute('threads', threads);
await import('./element.js');
