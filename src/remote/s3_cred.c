/*
 * Where the S3 backend's keys, region and endpoint come from: the
 * environment and the two shared files of the AWS CLI and SDKs, searched
 * in their order, so that someone whose `aws` command works has nothing
 * to tell us.
 *
 * Each file is read whole, line by line, as the INI dialect botocore
 * reads (Python's configparser): [section] lines, "key = value" (or
 * "key: value") lines, '#' and ';' comment lines. A line indented deeper
 * than the key line before it continues that key's value; that is how
 * nested settings ("s3 =" and its indented lines) are written, and we
 * ignore them. Key names are case-insensitive, section names are not.
 * A line that is none of these is an error even outside our section,
 * as it is for the AWS tools, so a broken file is noticed at once.
 *
 * Of a file we keep only the five settings we use, from the one section
 * that is our profile: [NAME] in the credentials file; [profile NAME], or
 * [default] for the default profile, in the config file. Like botocore,
 * the credentials file's section counts as part of the profile too, and
 * wins. The key pair (with its session token) is taken whole from the
 * first place that has an access key id, never half from one place and
 * half from another.
 *
 * Values are secrets, or may be: no message here quotes a value, or a
 * line of a file (a line we cannot parse may be a pasted key). Messages
 * name the profile, the file and the line number.
 */
#include "common.h"

#include <pwd.h>
#include <strings.h>
#include <unistd.h>

#include "remote/s3_int.h"
#include "util/util.h"

enum cred_key {
	CRED_ACCESS_KEY,
	CRED_SECRET_KEY,
	CRED_SESSION_TOKEN,
	CRED_REGION,
	CRED_ENDPOINT,
	CRED_CA_BUNDLE,
	CRED_NKEYS
};

static const char *const cred_key_names[CRED_NKEYS] = {
	[CRED_ACCESS_KEY] = "aws_access_key_id",
	[CRED_SECRET_KEY] = "aws_secret_access_key",
	[CRED_SESSION_TOKEN] = "aws_session_token",
	[CRED_REGION] = "region",
	[CRED_ENDPOINT] = "endpoint_url",
	[CRED_CA_BUNDLE] = "ca_bundle",
};

/* One shared file, and what our profile's section in it says. */
struct cred_file {
	char *path;		/* NULL: no file to look at (no HOME) */
	bool is_config;		/* the config file: [profile NAME] */
	bool found;		/* our profile has a section in it */
	char *val[CRED_NKEYS];	/* each setting, NULL if unset or empty */
};

/* Where the parser is in a file. */
struct cred_parse {
	const char *profile;	/* the section we want */
	bool any_section;	/* a [section] line was seen */
	bool in_profile;	/* the current section is ours */
	long key_indent;	/* indent of the last key line, -1 if none in
				   this section: deeper lines continue it */
};

/* An environment variable, NULL if unset or empty (as the CLI treats
 * an empty one). */
static const char *cred_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void cred_wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* The home directory: $HOME, else the password database; NULL if none. */
static char *cred_home(void)
{
	const char *home = cred_env("HOME");
	struct passwd pw, *res = NULL;
	char buf[16384];

	if (home)
		return xstrdup(home);
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res &&
	    res->pw_dir && *res->pw_dir)
		return xstrdup(res->pw_dir);
	return NULL;
}

/*
 * The path of a shared file: the variable var if set ("~/" expanded, as
 * the SDKs do), else ~/.aws/leaf. NULL if it needs a home we lack.
 */
static char *cred_path(const char *var, const char *leaf)
{
	const char *v = cred_env(var);
	char *home, *path = NULL;

	if (v && v[0] != '~')
		return xstrdup(v);
	if (v && v[1] != '\0' && v[1] != '/')
		return xstrdup(v);	/* "~user/...": taken as a name */
	home = cred_home();
	if (home && v)
		path = xasprintf("%s%s", home, v + 1);
	else if (home)
		path = xasprintf("%s/.aws/%s", home, leaf);
	free(home);
	return path;
}

/* s without blanks (and a CR of a CRLF file) at both ends, in place. */
static char *cred_trim(char *s)
{
	size_t n;

	s += strspn(s, " \t\r\n");
	n = strlen(s);
	while (n && strchr(" \t\r\n", s[n - 1]))
		n--;
	s[n] = '\0';
	return s;
}

/* Whether the section named name (trimmed) is our profile. */
static bool cred_section_is(const struct cred_file *f, const char *name,
			    const char *profile)
{
	size_t n;

	if (!f->is_config)
		return !strcmp(name, profile);
	if (!strcmp(name, "default"))
		return !strcmp(profile, "default");
	n = strlen("profile");
	if (strncmp(name, "profile", n) || (name[n] != ' ' && name[n] != '\t'))
		return false;
	return !strcmp(name + n + strspn(name + n, " \t"), profile);
}

/*
 * Takes in one line. Returns 0, or -EINVAL with *why set to what is
 * wrong with it (no part of the line itself).
 */
static int cred_line(struct cred_file *f, struct cred_parse *ps, char *line,
		     const char **why)
{
	long indent = (long)strspn(line, " \t");
	char *body = cred_trim(line);
	char *end, *delim, *key, *value;
	size_t k;

	if (!*body || *body == '#' || *body == ';')
		return 0;
	if (ps->key_indent >= 0 && indent > ps->key_indent)
		return 0;	/* continues the last key: nested settings */
	if (*body == '[') {
		/* like configparser: up to the last ']', the rest ignored */
		end = strrchr(body, ']');
		if (!end) {
			*why = "a [section] line without its ']'";
			return -EINVAL;
		}
		*end = '\0';
		body = cred_trim(body + 1);
		if (!*body) {
			*why = "a section without a name";
			return -EINVAL;
		}
		ps->any_section = true;
		ps->in_profile = cred_section_is(f, body, ps->profile);
		if (ps->in_profile)
			f->found = true;
		ps->key_indent = -1;
		return 0;
	}
	delim = body + strcspn(body, "=:");
	if (!*delim) {
		*why = "neither a [section], a key = value nor a comment";
		return -EINVAL;
	}
	*delim = '\0';
	key = cred_trim(body);
	if (!*key) {
		*why = "a key = value line without the key";
		return -EINVAL;
	}
	if (!ps->any_section) {
		*why = "a key = value line before any [section]";
		return -EINVAL;
	}
	ps->key_indent = indent;
	if (!ps->in_profile)
		return 0;
	value = cred_trim(delim + 1);
	for (k = 0; k < CRED_NKEYS; k++) {
		if (strcasecmp(key, cred_key_names[k]))
			continue;
		/* a later line wins, as in configparser */
		cred_wipe_free(f->val[k]);
		f->val[k] = *value ? xstrdup(value) : NULL;
	}
	return 0;
}

/*
 * Reads f->path, keeping what the section of profile says. A file that
 * does not exist is no error; one that cannot be read, or has a line
 * that is not INI, is (-errno or -EINVAL, with a message in err).
 */
static int cred_file_read(struct cred_file *f, const char *profile,
			  char *err, size_t errlen)
{
	struct cred_parse ps = { profile, false, false, -1 };
	const char *why = NULL;
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	FILE *fp;
	int rc = 0;

	if (!f->path)
		return 0;
	fp = fopen(f->path, "re");
	if (!fp) {
		rc = -errno;
		if (rc == -ENOENT || rc == -ENOTDIR)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", f->path,
			 strerror(-rc));
		return rc;
	}
	for (;;) {
		errno = 0;
		if (getline(&line, &cap, fp) < 0) {
			if (ferror(fp)) {
				/* a directory opens, then fails to read */
				rc = errno ? -errno : -EIO;
				snprintf(err, errlen, "cannot read %s: %s",
					 f->path, strerror(-rc));
			}
			break;
		}
		lineno++;
		rc = cred_line(f, &ps, line, &why);
		if (rc < 0) {
			snprintf(err, errlen, "%s line %lu: %s", f->path,
				 lineno, why);
			break;
		}
	}
	if (line) {
		/* the buffer held keys */
		explicit_bzero(line, cap);
		free(line);
	}
	fclose(fp);
	return rc;
}

/*
 * The key pair: from the environment if AWS_ACCESS_KEY_ID is set, else
 * from the first file whose section has aws_access_key_id. A pair with
 * its secret missing is an error rather than a fall-through to another
 * place, so the user learns which half is wrong.
 */
static int cred_keys(struct s3_profile *p, struct cred_file *files,
		     size_t nfiles, const char *profile, char *err,
		     size_t errlen)
{
	const char *id = cred_env("AWS_ACCESS_KEY_ID");
	const char *token;
	size_t i;

	if (id) {
		if (!cred_env("AWS_SECRET_ACCESS_KEY")) {
			snprintf(err, errlen,
				 "AWS_ACCESS_KEY_ID is set in the environment "
				 "but AWS_SECRET_ACCESS_KEY is not");
			return -EINVAL;
		}
		token = cred_env("AWS_SESSION_TOKEN");
		p->access_key = xstrdup(id);
		p->secret_key = xstrdup(cred_env("AWS_SECRET_ACCESS_KEY"));
		p->session_token = token ? xstrdup(token) : NULL;
		p->source = xstrdup("environment");
		return 0;
	}
	for (i = 0; i < nfiles; i++) {
		struct cred_file *f = &files[i];

		if (!f->val[CRED_ACCESS_KEY])
			continue;
		if (!f->val[CRED_SECRET_KEY]) {
			snprintf(err, errlen,
				 "profile %s in %s has aws_access_key_id but "
				 "no aws_secret_access_key",
				 profile, f->path);
			return -EINVAL;
		}
		p->access_key = f->val[CRED_ACCESS_KEY];
		p->secret_key = f->val[CRED_SECRET_KEY];
		p->session_token = f->val[CRED_SESSION_TOKEN];
		f->val[CRED_ACCESS_KEY] = NULL;
		f->val[CRED_SECRET_KEY] = NULL;
		f->val[CRED_SESSION_TOKEN] = NULL;
		p->source = xasprintf("profile %s in %s", profile, f->path);
		return 0;
	}
	return 0;
}

/* The first of: the variables vars (NULL-ended), then key in the files. */
static char *cred_pick(const char *const *vars, const struct cred_file *files,
		       size_t nfiles, enum cred_key key)
{
	size_t i;

	for (; *vars; vars++)
		if (cred_env(*vars))
			return xstrdup(cred_env(*vars));
	for (i = 0; i < nfiles; i++)
		if (files[i].val[key])
			return xstrdup(files[i].val[key]);
	return NULL;
}

/* The message for a named profile that no file has. */
static void cred_not_found(const struct cred_file *files, const char *profile,
			   char *err, size_t errlen)
{
	const char *a = files[0].path, *b = files[1].path;

	if (a && b)
		snprintf(err, errlen, "profile %s is not in %s or %s", profile,
			 a, b);
	else if (a || b)
		snprintf(err, errlen, "profile %s is not in %s", profile,
			 a ? a : b);
	else
		snprintf(err, errlen,
			 "profile %s: no credentials or config file (no HOME)",
			 profile);
}

int s3_profile_load(struct s3_profile *p, const char *profile, char *err,
		    size_t errlen)
{
	static const char *const region_vars[] = {
		"AWS_REGION", "AWS_DEFAULT_REGION", NULL,
	};
	static const char *const endpoint_vars[] = {
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", NULL,
	};
	static const char *const ca_vars[] = { "AWS_CA_BUNDLE", NULL };
	struct cred_file files[2];	/* credentials first: it wins */
	const char *name = profile && *profile ? profile : NULL;
	bool named;
	size_t i, k;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	memset(files, 0, sizeof(files));
	if (errlen)
		err[0] = '\0';
	if (!name)
		name = cred_env("AWS_PROFILE");
	if (!name)
		name = cred_env("AWS_DEFAULT_PROFILE");
	named = name != NULL;
	if (!named)
		name = "default";

	files[0].path = cred_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	files[1].path = cred_path("AWS_CONFIG_FILE", "config");
	files[1].is_config = true;
	for (i = 0; i < CD_ARRAY_SIZE(files); i++) {
		rc = cred_file_read(&files[i], name, err, errlen);
		if (rc < 0)
			goto out_free_files;
	}
	/*
	 * Like the CLI, the implicit default may be missing (no files at
	 * all is a normal start), but a profile asked for, even "default",
	 * must be somewhere: a typo must not quietly mean other keys.
	 */
	if (named && !files[0].found && !files[1].found) {
		cred_not_found(files, name, err, errlen);
		rc = -ENOENT;
		goto out_free_files;
	}
	rc = cred_keys(p, files, CD_ARRAY_SIZE(files), name, err, errlen);
	if (rc < 0)
		goto out_free_files;
	p->region = cred_pick(region_vars, files, CD_ARRAY_SIZE(files),
			      CRED_REGION);
	p->endpoint = cred_pick(endpoint_vars, files, CD_ARRAY_SIZE(files),
				CRED_ENDPOINT);
	p->ca_bundle = cred_pick(ca_vars, files, CD_ARRAY_SIZE(files),
				 CRED_CA_BUNDLE);
out_free_files:
	for (i = 0; i < CD_ARRAY_SIZE(files); i++) {
		free(files[i].path);
		for (k = 0; k < CRED_NKEYS; k++)
			cred_wipe_free(files[i].val[k]);
	}
	if (rc < 0)
		s3_profile_release(p);
	return rc;
}

void s3_profile_release(struct s3_profile *p)
{
	free(p->access_key);
	cred_wipe_free(p->secret_key);
	cred_wipe_free(p->session_token);
	free(p->region);
	free(p->endpoint);
	free(p->ca_bundle);
	free(p->source);
	memset(p, 0, sizeof(*p));
}
