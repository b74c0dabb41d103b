--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_table_access_method = heap;

--
-- Name: approval; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.approval (
    id integer NOT NULL,
    update_id uuid NOT NULL,
    group_id uuid NOT NULL,
    action text NOT NULL,
    deadline timestamp with time zone,
    changed_at timestamp with time zone NOT NULL,
    changed_by text NOT NULL
);


--
-- Name: approval_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.approval_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: approval_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.approval_id_seq OWNED BY public.approval.id;


--
-- Name: bundle_member; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.bundle_member (
    revision_id integer NOT NULL,
    "position" integer NOT NULL,
    update_id uuid NOT NULL,
    revision_number integer NOT NULL
);


--
-- Name: change_sequence; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.change_sequence (
    id integer NOT NULL,
    value bigint NOT NULL,
    CONSTRAINT change_sequence_id_check CHECK ((id = 1))
);


--
-- Name: computer; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.computer (
    id text NOT NULL,
    dns_name text NOT NULL,
    requested_groups text[],
    registered boolean NOT NULL,
    os_major integer NOT NULL,
    os_minor integer NOT NULL,
    os_build integer NOT NULL,
    os_description text NOT NULL,
    os_locale text NOT NULL,
    architecture text NOT NULL,
    manufacturer text NOT NULL,
    model text NOT NULL,
    client_version text NOT NULL,
    first_seen timestamp with time zone NOT NULL,
    last_sync timestamp with time zone,
    last_report timestamp with time zone,
    last_status_time timestamp with time zone
);


--
-- Name: computer_group; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.computer_group (
    computer_id text NOT NULL,
    group_id uuid NOT NULL
);


--
-- Name: event; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.event (
    seq bigint NOT NULL,
    instance_id uuid NOT NULL,
    client_id text NOT NULL,
    event_id integer NOT NULL,
    source_id integer NOT NULL,
    time_at_target timestamp with time zone,
    update_id uuid NOT NULL,
    revision_number integer NOT NULL,
    win32_hresult integer NOT NULL,
    app_name text NOT NULL,
    replacement text[],
    misc_data text[],
    received timestamp with time zone NOT NULL
);


--
-- Name: event_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.event ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.event_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: prerequisite; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.prerequisite (
    revision_id integer NOT NULL,
    clause_no integer NOT NULL,
    "position" integer NOT NULL,
    is_category boolean NOT NULL,
    update_id uuid NOT NULL
);


--
-- Name: revision; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.revision (
    id integer NOT NULL,
    update_id uuid NOT NULL,
    revision_number integer NOT NULL,
    update_type text NOT NULL,
    category_type text NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    kb_article_id text NOT NULL,
    publication_state text NOT NULL,
    creation_date timestamp with time zone,
    is_leaf boolean NOT NULL,
    has_files boolean NOT NULL,
    content_sha256 bytea NOT NULL,
    imported timestamp with time zone DEFAULT now() NOT NULL,
    drivers jsonb
);


--
-- Name: revision_file; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.revision_file (
    revision_id integer NOT NULL,
    "position" integer NOT NULL,
    sha1 bytea NOT NULL,
    sha256 bytea,
    file_name text NOT NULL,
    size bigint NOT NULL,
    modified timestamp with time zone,
    CONSTRAINT revision_file_sha1_check CHECK ((length(sha1) = 20)),
    CONSTRAINT revision_file_sha256_check CHECK ((length(sha256) = 32))
);


--
-- Name: revision_fragment; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.revision_fragment (
    revision_id integer NOT NULL,
    kind text NOT NULL,
    language text NOT NULL,
    xml text NOT NULL
);


--
-- Name: revision_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.revision ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.revision_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: revision_xml; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.revision_xml (
    revision_id integer NOT NULL,
    xml text NOT NULL
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: server_info; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.server_info (
    id integer NOT NULL,
    server_id uuid NOT NULL,
    config_changed timestamp with time zone NOT NULL,
    CONSTRAINT server_info_id_check CHECK ((id = 1))
);


--
-- Name: supersedence; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.supersedence (
    revision_id integer NOT NULL,
    "position" integer NOT NULL,
    update_id uuid NOT NULL
);


--
-- Name: target_group; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.target_group (
    id uuid NOT NULL,
    name text NOT NULL,
    name_key text NOT NULL,
    parent_id uuid,
    is_builtin boolean NOT NULL
);


--
-- Name: update_state; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.update_state (
    update_id uuid NOT NULL,
    declined boolean NOT NULL,
    changed_at timestamp with time zone NOT NULL
);


--
-- Name: update_status; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.update_status (
    client_id text NOT NULL,
    update_id uuid NOT NULL,
    state integer NOT NULL,
    changed_at timestamp with time zone NOT NULL
);


--
-- Name: approval id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.approval ALTER COLUMN id SET DEFAULT nextval('public.approval_id_seq'::regclass);


--
-- Data for Name: approval; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.approval (id, update_id, group_id, action, deadline, changed_at, changed_by) VALUES (1, 'a1000000-0000-4000-8000-000000000006', 'b2000000-0000-4000-8000-000000000001', 'Install', NULL, '2026-10-09 08:00:00.000001+00', 'admin@contoso');
INSERT INTO public.approval (id, update_id, group_id, action, deadline, changed_at, changed_by) VALUES (2, 'a1000000-0000-4000-8000-000000000007', 'b2000000-0000-4000-8000-000000000002', 'OptionalInstall', '2026-10-31 23:00:00+00', '2026-10-09 08:05:00.5+00', 'Ådmin Σ');
INSERT INTO public.approval (id, update_id, group_id, action, deadline, changed_at, changed_by) VALUES (5, 'a1000000-0000-4000-8000-000000000008', 'b2000000-0000-4000-8000-000000000003', 'Uninstall', NULL, '2026-10-09 09:30:00.123456+00', 'admin');
INSERT INTO public.approval (id, update_id, group_id, action, deadline, changed_at, changed_by) VALUES (7, 'a1000000-0000-4000-8000-000000000006', 'b2000000-0000-4000-8000-000000000004', 'Install', NULL, '2026-12-06 07:40:04.157141+00', '');


--
-- Data for Name: bundle_member; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.bundle_member (revision_id, "position", update_id, revision_number) VALUES (7, 0, 'a1000000-0000-4000-8000-000000000006', 200);
INSERT INTO public.bundle_member (revision_id, "position", update_id, revision_number) VALUES (7, 1, 'a1000000-0000-4000-8000-0000000000ff', 5);


--
-- Data for Name: change_sequence; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.change_sequence (id, value) VALUES (1, 25);


--
-- Data for Name: computer; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.computer (id, dns_name, requested_groups, registered, os_major, os_minor, os_build, os_description, os_locale, architecture, manufacturer, model, client_version, first_seen, last_sync, last_report, last_status_time) VALUES ('c3000000-0000-4000-8000-000000000001', 'Alpha.contoso.local', '{Servers,Σας}', false, 0, 0, 0, '', '', '', '', '', '', '2026-10-10 06:00:00.000001+00', NULL, NULL, NULL);
INSERT INTO public.computer (id, dns_name, requested_groups, registered, os_major, os_minor, os_build, os_description, os_locale, architecture, manufacturer, model, client_version, first_seen, last_sync, last_report, last_status_time) VALUES ('c3000000-0000-4000-8000-000000000004', 'zeta.contoso.local', NULL, false, 0, 0, 0, '', '', '', '', '', '', '2026-10-10 06:02:00+00', NULL, NULL, NULL);
INSERT INTO public.computer (id, dns_name, requested_groups, registered, os_major, os_minor, os_build, os_description, os_locale, architecture, manufacturer, model, client_version, first_seen, last_sync, last_report, last_status_time) VALUES ('c3000000-0000-4000-8000-000000000005', 'büro-pc.contoso.local', NULL, false, 0, 0, 0, '', '', '', '', '', '', '2026-10-10 06:03:00+00', NULL, NULL, NULL);
INSERT INTO public.computer (id, dns_name, requested_groups, registered, os_major, os_minor, os_build, os_description, os_locale, architecture, manufacturer, model, client_version, first_seen, last_sync, last_report, last_status_time) VALUES ('c3000000-0000-4000-8000-000000000002', 'pc-full.contoso.local', '{Workstations,"a,b","{x}","\"q\"","back\\slash","NULL","","Σας 😀","line
break"}', true, 10, 0, 26200, 'Contoso OS 11 Pro', 'en-US', 'AMD64', 'Contoso', 'Virtual Machine', '1507.2601.30012.0', '2026-10-10 06:01:00+00', '2026-10-10 07:00:01.25+00', '2026-10-10 07:42:00.5+00', '2026-10-10 07:42:00.5+00');
INSERT INTO public.computer (id, dns_name, requested_groups, registered, os_major, os_minor, os_build, os_description, os_locale, architecture, manufacturer, model, client_version, first_seen, last_sync, last_report, last_status_time) VALUES ('c3000000-0000-4000-8000-000000000003', 'büro-pc.contoso.local', NULL, true, 10, 0, 19045, 'Contoso OS 10 Enterprise', 'de-DE', 'ARM64', 'Fabrikam', 'Tablet ✓', '10.0.19041.3636', '2026-10-10 05:00:00.000002+00', '2026-10-10 08:00:00+00', '2026-10-10 08:00:02+00', '2026-10-10 08:03:00+00');


--
-- Data for Name: computer_group; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.computer_group (computer_id, group_id) VALUES ('c3000000-0000-4000-8000-000000000002', 'a0a08746-4dbe-4a37-9adf-9e7652c0b421');
INSERT INTO public.computer_group (computer_id, group_id) VALUES ('c3000000-0000-4000-8000-000000000002', 'b2000000-0000-4000-8000-000000000001');
INSERT INTO public.computer_group (computer_id, group_id) VALUES ('c3000000-0000-4000-8000-000000000002', 'b2000000-0000-4000-8000-000000000003');
INSERT INTO public.computer_group (computer_id, group_id) VALUES ('c3000000-0000-4000-8000-000000000003', 'b2000000-0000-4000-8000-000000000004');
INSERT INTO public.computer_group (computer_id, group_id) VALUES ('c3000000-0000-4000-8000-000000000005', 'b2000000-0000-4000-8000-000000000002');
INSERT INTO public.computer_group (computer_id, group_id) VALUES ('c3000000-0000-4000-8000-000000000005', 'b2000000-0000-4000-8000-000000000005');


--
-- Data for Name: event; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.event (seq, instance_id, client_id, event_id, source_id, time_at_target, update_id, revision_number, win32_hresult, app_name, replacement, misc_data, received) OVERRIDING SYSTEM VALUE VALUES (1, 'd4000000-0000-4000-8000-000000000001', 'c3000000-0000-4000-8000-000000000002', 147, 101, NULL, '00000000-0000-0000-0000-000000000000', 200, 0, 'OOBE ZDP', '{0,"a,b","\"q\"","","NULL"}', '{B=3,G=1507.2601.30012.0,L=2022-02-02T00:00:00,"AppName=OOBE ZDP","Σ={x}"}', '2026-10-10 07:30:00+00');
INSERT INTO public.event (seq, instance_id, client_id, event_id, source_id, time_at_target, update_id, revision_number, win32_hresult, app_name, replacement, misc_data, received) OVERRIDING SYSTEM VALUE VALUES (2, 'd4000000-0000-4000-8000-000000000002', 'c3000000-0000-4000-8000-000000000002', 148, 101, '2026-10-10 07:10:00.000001+00', 'a1000000-0000-4000-8000-000000000006', 200, -2145124329, 'AutomaticUpdates', NULL, NULL, '2026-10-10 07:30:00+00');
INSERT INTO public.event (seq, instance_id, client_id, event_id, source_id, time_at_target, update_id, revision_number, win32_hresult, app_name, replacement, misc_data, received) OVERRIDING SYSTEM VALUE VALUES (3, 'd4000000-0000-4000-8000-000000000003', 'c3000000-0000-4000-8000-000000000002', 183, 101, '2026-10-10 07:10:00.000001+00', 'a1000000-0000-4000-8000-000000000007', 200, 0, 'AutomaticUpdates', '{KB5099001}', NULL, '2026-10-10 07:30:00+00');
INSERT INTO public.event (seq, instance_id, client_id, event_id, source_id, time_at_target, update_id, revision_number, win32_hresult, app_name, replacement, misc_data, received) OVERRIDING SYSTEM VALUE VALUES (4, 'd4000000-0000-4000-8000-000000000004', 'c3000000-0000-4000-8000-000000000002', 183, 101, '2026-10-10 07:05:00+00', 'a1000000-0000-4000-8000-000000000008', 200, 0, 'AutomaticUpdates', NULL, NULL, '2026-10-10 07:30:00+00');
INSERT INTO public.event (seq, instance_id, client_id, event_id, source_id, time_at_target, update_id, revision_number, win32_hresult, app_name, replacement, misc_data, received) OVERRIDING SYSTEM VALUE VALUES (6, 'd4000000-0000-4000-8000-000000000005', 'c3000000-0000-4000-8000-000000000002', 182, 101, '2026-10-10 07:20:00+00', 'a1000000-0000-4000-8000-000000000006', 200, 0, 'AutomaticUpdates', NULL, '{"back\\slash"}', '2026-10-10 07:31:00.000007+00');
INSERT INTO public.event (seq, instance_id, client_id, event_id, source_id, time_at_target, update_id, revision_number, win32_hresult, app_name, replacement, misc_data, received) OVERRIDING SYSTEM VALUE VALUES (7, 'd4000000-0000-4000-8000-000000000006', 'c3000000-0000-4000-8000-000000000002', 156, 101, '2026-10-10 07:40:00+00', '00000000-0000-0000-0000-000000000000', 200, 0, 'AutomaticUpdates', NULL, NULL, '2026-10-10 07:42:00.5+00');
INSERT INTO public.event (seq, instance_id, client_id, event_id, source_id, time_at_target, update_id, revision_number, win32_hresult, app_name, replacement, misc_data, received) OVERRIDING SYSTEM VALUE VALUES (8, 'd4000000-0000-4000-8000-000000000007', 'c3000000-0000-4000-8000-000000000002', 183, 101, '2026-10-10 07:41:00+00', 'a1000000-0000-4000-8000-000000000006', 200, 0, 'AutomaticUpdates', NULL, NULL, '2026-10-10 07:42:00.5+00');
INSERT INTO public.event (seq, instance_id, client_id, event_id, source_id, time_at_target, update_id, revision_number, win32_hresult, app_name, replacement, misc_data, received) OVERRIDING SYSTEM VALUE VALUES (9, 'd4000000-0000-4000-8000-000000000008', 'c3000000-0000-4000-8000-000000000003', 147, 101, '2026-10-10 08:00:00+00', '00000000-0000-0000-0000-000000000000', 200, 0, 'AutomaticUpdates', NULL, NULL, '2026-10-10 08:00:02+00');


--
-- Data for Name: prerequisite; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.prerequisite (revision_id, clause_no, "position", is_category, update_id) VALUES (2, 0, 0, true, 'a1000000-0000-4000-8000-000000000001');
INSERT INTO public.prerequisite (revision_id, clause_no, "position", is_category, update_id) VALUES (5, 0, 0, false, 'a1000000-0000-4000-8000-000000000004');
INSERT INTO public.prerequisite (revision_id, clause_no, "position", is_category, update_id) VALUES (7, 0, 0, true, 'a1000000-0000-4000-8000-000000000002');
INSERT INTO public.prerequisite (revision_id, clause_no, "position", is_category, update_id) VALUES (7, 1, 0, true, 'a1000000-0000-4000-8000-000000000003');
INSERT INTO public.prerequisite (revision_id, clause_no, "position", is_category, update_id) VALUES (9, 0, 0, true, 'a1000000-0000-4000-8000-000000000002');
INSERT INTO public.prerequisite (revision_id, clause_no, "position", is_category, update_id) VALUES (6, 0, 0, false, 'a1000000-0000-4000-8000-000000000004');
INSERT INTO public.prerequisite (revision_id, clause_no, "position", is_category, update_id) VALUES (6, 0, 1, false, 'a1000000-0000-4000-8000-000000000005');
INSERT INTO public.prerequisite (revision_id, clause_no, "position", is_category, update_id) VALUES (6, 1, 0, true, 'a1000000-0000-4000-8000-000000000002');
INSERT INTO public.prerequisite (revision_id, clause_no, "position", is_category, update_id) VALUES (6, 2, 0, true, 'a1000000-0000-4000-8000-000000000003');
INSERT INTO public.prerequisite (revision_id, clause_no, "position", is_category, update_id) VALUES (11, 0, 0, true, 'a1000000-0000-4000-8000-000000000002');
INSERT INTO public.prerequisite (revision_id, clause_no, "position", is_category, update_id) VALUES (12, 0, 0, false, 'a1000000-0000-4000-8000-000000000008');


--
-- Data for Name: revision; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (7, 'a1000000-0000-4000-8000-000000000007', 201, 'Software', '', '2026-10 Cumulative Update bundle', '', '5099001', 'Published', '2026-10-08 17:00:00.5+00', true, true, '\x2d49c25771df97ea0584a4171213943af975c4ef817c342d6a78b5b82754f011', '2026-12-06 07:40:04.121345+00', NULL);
INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (9, 'a1000000-0000-4000-8000-000000000009', 100, 'Software', '', '2026-09 Cumulative Update, revision 100', 'Ünïcödé ✓ 😀 tab	here', '5098000', 'Expired', '2026-09-08 17:00:00+00', true, false, '\x771a481839371b3be0b456b7b901913e6a71229e73519a1763defccd34fcf731', '2026-12-06 07:40:04.121345+00', NULL);
INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (10, 'a1000000-0000-4000-8000-00000000000a', 1, 'Software', '', '', '', '', '', NULL, true, false, '\x30cbc6cc16c0c7ae84d531448123ba57ca31654bd3f34075c4aee77e21b3133c', '2026-12-06 07:40:04.121345+00', NULL);
INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (1, 'a1000000-0000-4000-8000-000000000001', 100, 'Category', 'Company', 'Contoso', 'Contoso.', '', 'Published', '2005-09-22 00:05:11.471+00', false, false, '\xad71fbb6ad0e419c6a6fb2ef428c8dbcd286c01639df5532a865c9fc0e138686', '2026-12-06 07:40:04.121345+00', NULL);
INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (2, 'a1000000-0000-4000-8000-000000000002', 200, 'Category', 'Product', 'Contoso OS 11', 'Contoso OS 11.', '', 'Published', '2021-06-24 15:00:00.000001+00', false, false, '\xd6a9bbc54fe8c4c0df14665cee116d4998721afbb6e3841c867e72d2dc4ea838', '2026-12-06 07:40:04.121345+00', NULL);
INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (3, 'a1000000-0000-4000-8000-000000000003', 300, 'Category', 'UpdateClassification', 'Security Updates', 'Security Updates.', '', 'Published', '2005-09-22 00:05:11.471+00', false, false, '\x2445323c7de3570e6d9422b9074e5c179aee2f41f6e4e2eabd786fd14c6dc942', '2026-12-06 07:40:04.121345+00', NULL);
INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (4, 'a1000000-0000-4000-8000-000000000004', 1, 'Detectoid', '', 'Detectoid a1000000', '', '', 'Published', '2020-01-15 10:00:00.123456+00', false, false, '\x509bc879f1b12dda785f788a4efc2d19f968e4cfd3271c42248c31b216d91cdd', '2026-12-06 07:40:04.121345+00', NULL);
INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (5, 'a1000000-0000-4000-8000-000000000005', 1, 'Detectoid', '', 'Detectoid a1000000', '', '', 'Published', '2020-01-15 10:00:00.123456+00', false, false, '\x996e4ea6f071016646f57a5ed4c47580f741da2f8cb798e4bf78a1234b66ccbc', '2026-12-06 07:40:04.121345+00', NULL);
INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (6, 'a1000000-0000-4000-8000-000000000006', 200, 'Software', '', '2026-10 Cumulative Update for Contoso OS 11 (KB5099001) (re-released)', 'Fixes <security> issues & "quotes"; line one
line two.', '5099001', 'Published', '2026-10-08 17:00:00.000001+00', true, true, '\x50fa2d9d33df23ef9a872ddfe92e424740d4d2dcfa1bfdfbb3ef268e77be2cf8', '2026-12-06 07:40:04.121345+00', NULL);
INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (11, 'a1000000-0000-4000-8000-000000000009', 101, 'Software', '', '2026-09 Cumulative Update, revision 101', 'Ünïcödé ✓ 😀 tab	here', '5098000', 'Expired', '2026-09-08 17:00:00+00', true, false, '\x1665e075cd600d3df5c189c09decf2d555f10e5b00024f4d4b96cc356f3b68a2', '2026-12-06 07:40:04.134869+00', NULL);
INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (12, 'a1000000-0000-4000-8000-00000000000b', 3, 'Software', '', 'Contoso display control panel', '', '', 'Published', '2025-04-01 09:30:00.25+00', true, false, '\xa2946ea5ee44c14f6d272294fe5fe73b1ec8a4f589e9b55fb7c03034a2afeb31', '2026-12-06 07:40:04.139609+00', NULL);
INSERT INTO public.revision (id, update_id, revision_number, update_type, category_type, title, description, kb_article_id, publication_state, creation_date, is_leaf, has_files, content_sha256, imported, drivers) VALUES (8, 'a1000000-0000-4000-8000-000000000008', 100, 'Driver', '', 'Contoso Kiosk Display Adapter', '', '', 'Published', '2025-03-11 00:00:00+00', false, true, '\x84a73e5f9995c15a4bec6e797db4acac1adfebcd4f73233f2462ce7cd6aebe95', '2026-12-06 07:40:04.121345+00', '[{"class": "Display", "model": "Contoso Kiosk Display Adapter", "company": "Contoso Ltd.", "provider": "Contoso", "hardwareId": "ROOT\\BasicDisplay", "manufacturer": "Contoso", "whqlDriverId": "90000002", "driverVerDate": "2025-03-10T00:00:00Z", "featureScores": [{"score": 253, "operatingSystem": "amd64.10.0"}, {"score": 0, "operatingSystem": "arm64.10.0"}], "driverVerVersion": 281483566841860, "compatibleProviders": ["Microsoft", "Fabrikam"], "targetComputerHardwareIds": ["817fca52-ae83-52f5-8642-9497f79d49d0"], "distributionComputerHardwareIds": ["3673e5af-4b17-57f3-b9a4-7de906abf68b", "817fca52-ae83-52f5-8642-9497f79d49d0"]}, {"class": "Display", "hardwareId": "PCI\\VEN_1234&DEV_1111&SUBSYS_11001AF4&REV_02", "manufacturer": "Contoso", "driverVerDate": "2025-03-10T00:00:00Z", "featureScores": [{"score": 255, "operatingSystem": "amd64.10.0"}], "driverVerVersion": 18446744073709551615}]');


--
-- Data for Name: revision_file; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.revision_file (revision_id, "position", sha1, sha256, file_name, size, modified) VALUES (7, 0, '\x553a19c7824de27dbdb16ebabf87092740e3edeb', '\x80994b11708f35a0718878f6d7746eca8760adac7b9daf8a1086cae0c7d958be', 'windows11.0-kb5099001-x64.msu', 812345678, '2026-10-07 23:59:58+00');
INSERT INTO public.revision_file (revision_id, "position", sha1, sha256, file_name, size, modified) VALUES (7, 1, '\xf0d146f5052d4fa9282f0f382a24535df5130f44', '\x30b8378a37abfdb1d8eba596db6e9ad3b7c80b097a1591a634bb7ece5ba25563', 'bundle-manifest.cab', 1234, '2026-10-07 12:00:00.000123+00');
INSERT INTO public.revision_file (revision_id, "position", sha1, sha256, file_name, size, modified) VALUES (8, 0, '\x976ec6ee2c5f534c06fe378290730a0acba1e8d9', '\x4c0ad42e3bab4296703137eab15e9490e35bc4cc163501ba43a2cd3d39d1b5f5', 'contoso-display.cab', 2048000, '2025-03-10 08:00:00+00');
INSERT INTO public.revision_file (revision_id, "position", sha1, sha256, file_name, size, modified) VALUES (6, 0, '\x553a19c7824de27dbdb16ebabf87092740e3edeb', '\x80994b11708f35a0718878f6d7746eca8760adac7b9daf8a1086cae0c7d958be', 'windows11.0-kb5099001-x64.msu', 812345678, '2026-10-07 23:59:58+00');
INSERT INTO public.revision_file (revision_id, "position", sha1, sha256, file_name, size, modified) VALUES (6, 1, '\x5ac9d6c0af2d06696663bfb9d62e1eacf9a82edb', NULL, 'windows11.0-kb5099001-x64.psf', 8192, '2026-10-07 23:59:59.5+00');
INSERT INTO public.revision_file (revision_id, "position", sha1, sha256, file_name, size, modified) VALUES (6, 2, '\x451685e9efac4a6dc1fee73ec53ffb6b2c4c38b5', NULL, 'readme.txt', 0, NULL);


--
-- Data for Name: revision_fragment; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (1, 'Core', '', '<UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000001" RevisionNumber="100" /><Properties UpdateType="Category" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (1, 'LocalizedProperties', 'en', '<LocalizedProperties><Language>en</Language><Title>Contoso</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (2, 'Core', '', '<UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000002" RevisionNumber="200" /><Properties UpdateType="Category" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (2, 'LocalizedProperties', 'en', '<LocalizedProperties><Language>en</Language><Title>Contoso OS 11</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (3, 'Core', '', '<UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000003" RevisionNumber="300" /><Properties UpdateType="Category" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (3, 'LocalizedProperties', 'en', '<LocalizedProperties><Language>en</Language><Title>Security Updates</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (4, 'Core', '', '<UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000004" RevisionNumber="1" /><Properties UpdateType="Detectoid" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (5, 'Core', '', '<UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000005" RevisionNumber="1" /><Properties UpdateType="Detectoid" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (7, 'Core', '', '<UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000007" RevisionNumber="201" /><Properties UpdateType="Software" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (7, 'LocalizedProperties', 'en', '<LocalizedProperties><Language>en</Language><Title>Bundle</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (7, 'LocalizedProperties', 'ja', '<LocalizedProperties><Language>ja</Language><Title>バンドル</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (7, 'Eula', 'en', '<EulaFile Language="en" FileDigest="bundle-eula" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (8, 'Core', '', '<UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000008" RevisionNumber="100" /><Properties UpdateType="Driver" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (8, 'LocalizedProperties', 'en', '<LocalizedProperties><Language>en</Language><Title>Contoso Kiosk Display Adapter</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (9, 'Core', '', '<UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000009" RevisionNumber="100" /><Properties UpdateType="Software" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (9, 'LocalizedProperties', 'en', '<LocalizedProperties><Language>en</Language><Title>2026-09 Cumulative Update</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (6, 'Core', '', '<UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000006" RevisionNumber="200" /><Properties UpdateType="Software" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (6, 'Extended', '', '<ExtendedProperties DefaultPropertiesLanguage="en" Handler="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Cbs" MaxDownloadSize="812349774" MinDownloadSize="0" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (6, 'LocalizedProperties', 'en', '<LocalizedProperties><Language>en</Language><Title>2026-10 Cumulative Update</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (6, 'LocalizedProperties', 'de', '<LocalizedProperties><Language>de</Language><Title>Kumulatives Update 2026-10 für Contoso OS 11</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (6, 'LocalizedProperties', 'pt-br', '<LocalizedProperties><Language>pt-br</Language><Title>Atualização cumulativa 2026-10</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (6, 'LocalizedProperties', 'zh-tw', '<LocalizedProperties><Language>zh-tw</Language><Title>2026-10 累積更新</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (6, 'Eula', 'en', '<EulaFile Language="en" FileDigest="eula-en" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (6, 'Eula', 'de', '<EulaFile Language="de" FileDigest="eula-de" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (11, 'Core', '', '<UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000009" RevisionNumber="101" /><Properties UpdateType="Software" />');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (11, 'LocalizedProperties', 'en', '<LocalizedProperties><Language>en</Language><Title>2026-09 Cumulative Update</Title></LocalizedProperties>');
INSERT INTO public.revision_fragment (revision_id, kind, language, xml) VALUES (12, 'Core', '', '<UpdateIdentity UpdateID="a1000000-0000-4000-8000-00000000000b" RevisionNumber="3" /><Properties UpdateType="Software" />');


--
-- Data for Name: revision_xml; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.revision_xml (revision_id, xml) VALUES (7, '<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000007" RevisionNumber="201" /></upd:Update>');
INSERT INTO public.revision_xml (revision_id, xml) VALUES (8, '<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000008" RevisionNumber="100" /></upd:Update>');
INSERT INTO public.revision_xml (revision_id, xml) VALUES (6, '<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="a1000000-0000-4000-8000-000000000006" RevisionNumber="200" /><upd:Properties UpdateType="Software" IsRereleased="true" /></upd:Update>');


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.schema_migrations (version, name, applied_at) VALUES (1, '0001_init', '2026-12-06 07:40:04.046622+00');
INSERT INTO public.schema_migrations (version, name, applied_at) VALUES (2, '0002_revision_drivers', '2026-12-06 07:40:04.075546+00');
INSERT INTO public.schema_migrations (version, name, applied_at) VALUES (3, '0003_event_received', '2026-12-06 07:40:04.07631+00');


--
-- Data for Name: server_info; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.server_info (id, server_id, config_changed) VALUES (1, '30b6d4d9-aef9-458e-8a48-c69eec825487', '2026-12-06 07:40:04.118+00');


--
-- Data for Name: supersedence; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.supersedence (revision_id, "position", update_id) VALUES (6, 0, 'a1000000-0000-4000-8000-000000000009');
INSERT INTO public.supersedence (revision_id, "position", update_id) VALUES (6, 1, 'a1000000-0000-4000-8000-0000000000ff');


--
-- Data for Name: target_group; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.target_group (id, name, name_key, parent_id, is_builtin) VALUES ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'All Computers', 'all computers', NULL, true);
INSERT INTO public.target_group (id, name, name_key, parent_id, is_builtin) VALUES ('b73ca6ed-5727-47f3-84de-015e03f6a88a', 'Unassigned Computers', 'unassigned computers', 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', true);
INSERT INTO public.target_group (id, name, name_key, parent_id, is_builtin) VALUES ('b2000000-0000-4000-8000-000000000001', 'Servers', 'servers', 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', false);
INSERT INTO public.target_group (id, name, name_key, parent_id, is_builtin) VALUES ('b2000000-0000-4000-8000-000000000002', 'Workstations', 'workstations', 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', false);
INSERT INTO public.target_group (id, name, name_key, parent_id, is_builtin) VALUES ('b2000000-0000-4000-8000-000000000003', 'Σας', 'σας', 'b2000000-0000-4000-8000-000000000001', false);
INSERT INTO public.target_group (id, name, name_key, parent_id, is_builtin) VALUES ('b2000000-0000-4000-8000-000000000005', 'STRASSE', 'strasse', 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', false);
INSERT INTO public.target_group (id, name, name_key, parent_id, is_builtin) VALUES ('b2000000-0000-4000-8000-000000000004', 'Straße', 'straße', 'b2000000-0000-4000-8000-000000000002', false);
INSERT INTO public.target_group (id, name, name_key, parent_id, is_builtin) VALUES ('b2000000-0000-4000-8000-000000000006', 'Ünïcödé Grüppe', 'ünïcödé grüppe', 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', false);


--
-- Data for Name: update_state; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.update_state (update_id, declined, changed_at) VALUES ('a1000000-0000-4000-8000-000000000008', false, '2026-10-09 09:30:00.123456+00');
INSERT INTO public.update_state (update_id, declined, changed_at) VALUES ('a1000000-0000-4000-8000-000000000009', true, '2026-12-06 07:40:04.158105+00');
INSERT INTO public.update_state (update_id, declined, changed_at) VALUES ('a1000000-0000-4000-8000-000000000006', false, '2026-12-06 07:40:04.1595+00');
INSERT INTO public.update_state (update_id, declined, changed_at) VALUES ('a1000000-0000-4000-8000-000000000007', true, '2026-12-06 07:40:04.160372+00');


--
-- Data for Name: update_status; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.update_status (client_id, update_id, state, changed_at) VALUES ('c3000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000007', 3, '2026-10-10 07:39:00+00');
INSERT INTO public.update_status (client_id, update_id, state, changed_at) VALUES ('c3000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000008', 1, '2026-10-10 07:42:00.5+00');
INSERT INTO public.update_status (client_id, update_id, state, changed_at) VALUES ('c3000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000006', 6, '2026-10-10 07:42:00.5+00');
INSERT INTO public.update_status (client_id, update_id, state, changed_at) VALUES ('c3000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-000000000006', 4, '2026-10-10 08:01:00+00');
INSERT INTO public.update_status (client_id, update_id, state, changed_at) VALUES ('c3000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-000000000008', 3, '2026-10-10 08:03:00+00');
INSERT INTO public.update_status (client_id, update_id, state, changed_at) VALUES ('c3000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-0000000000ff', 0, '2026-10-10 08:03:00+00');


--
-- Name: approval_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.approval_id_seq', 7, true);


--
-- Name: event_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.event_seq_seq', 9, true);


--
-- Name: revision_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.revision_id_seq', 12, true);


--
-- Name: approval approval_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.approval
    ADD CONSTRAINT approval_pkey PRIMARY KEY (id);


--
-- Name: approval approval_update_id_group_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.approval
    ADD CONSTRAINT approval_update_id_group_id_key UNIQUE (update_id, group_id);


--
-- Name: bundle_member bundle_member_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.bundle_member
    ADD CONSTRAINT bundle_member_pkey PRIMARY KEY (revision_id, "position");


--
-- Name: change_sequence change_sequence_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.change_sequence
    ADD CONSTRAINT change_sequence_pkey PRIMARY KEY (id);


--
-- Name: computer_group computer_group_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.computer_group
    ADD CONSTRAINT computer_group_pkey PRIMARY KEY (computer_id, group_id);


--
-- Name: computer computer_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.computer
    ADD CONSTRAINT computer_pkey PRIMARY KEY (id);


--
-- Name: event event_instance_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.event
    ADD CONSTRAINT event_instance_id_key UNIQUE (instance_id);


--
-- Name: event event_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.event
    ADD CONSTRAINT event_pkey PRIMARY KEY (seq);


--
-- Name: prerequisite prerequisite_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.prerequisite
    ADD CONSTRAINT prerequisite_pkey PRIMARY KEY (revision_id, clause_no, "position");


--
-- Name: revision_file revision_file_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revision_file
    ADD CONSTRAINT revision_file_pkey PRIMARY KEY (revision_id, "position");


--
-- Name: revision_fragment revision_fragment_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revision_fragment
    ADD CONSTRAINT revision_fragment_pkey PRIMARY KEY (revision_id, kind, language);


--
-- Name: revision revision_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revision
    ADD CONSTRAINT revision_pkey PRIMARY KEY (id);


--
-- Name: revision revision_update_id_revision_number_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revision
    ADD CONSTRAINT revision_update_id_revision_number_key UNIQUE (update_id, revision_number);


--
-- Name: revision_xml revision_xml_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revision_xml
    ADD CONSTRAINT revision_xml_pkey PRIMARY KEY (revision_id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: server_info server_info_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.server_info
    ADD CONSTRAINT server_info_pkey PRIMARY KEY (id);


--
-- Name: supersedence supersedence_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.supersedence
    ADD CONSTRAINT supersedence_pkey PRIMARY KEY (revision_id, "position");


--
-- Name: target_group target_group_name_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.target_group
    ADD CONSTRAINT target_group_name_key_key UNIQUE (name_key);


--
-- Name: target_group target_group_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.target_group
    ADD CONSTRAINT target_group_pkey PRIMARY KEY (id);


--
-- Name: update_state update_state_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.update_state
    ADD CONSTRAINT update_state_pkey PRIMARY KEY (update_id);


--
-- Name: update_status update_status_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.update_status
    ADD CONSTRAINT update_status_pkey PRIMARY KEY (client_id, update_id);


--
-- Name: bundle_member_update; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX bundle_member_update ON public.bundle_member USING btree (update_id, revision_number);


--
-- Name: computer_dns_name; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX computer_dns_name ON public.computer USING btree (dns_name COLLATE "C", id COLLATE "C");


--
-- Name: event_client; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX event_client ON public.event USING btree (client_id, time_at_target NULLS FIRST, seq);


--
-- Name: event_client_received; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX event_client_received ON public.event USING btree (client_id, received);


--
-- Name: prerequisite_update_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX prerequisite_update_id ON public.prerequisite USING btree (update_id);


--
-- Name: revision_file_sha1; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX revision_file_sha1 ON public.revision_file USING btree (sha1, revision_id);


--
-- Name: supersedence_update_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX supersedence_update_id ON public.supersedence USING btree (update_id);


--
-- Name: approval approval_group_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.approval
    ADD CONSTRAINT approval_group_id_fkey FOREIGN KEY (group_id) REFERENCES public.target_group(id);


--
-- Name: computer_group computer_group_computer_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.computer_group
    ADD CONSTRAINT computer_group_computer_id_fkey FOREIGN KEY (computer_id) REFERENCES public.computer(id) ON DELETE CASCADE;


--
-- Name: computer_group computer_group_group_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.computer_group
    ADD CONSTRAINT computer_group_group_id_fkey FOREIGN KEY (group_id) REFERENCES public.target_group(id);


--
-- Name: event event_client_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.event
    ADD CONSTRAINT event_client_id_fkey FOREIGN KEY (client_id) REFERENCES public.computer(id);


--
-- Name: target_group target_group_parent_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.target_group
    ADD CONSTRAINT target_group_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES public.target_group(id);


--
-- Name: update_status update_status_client_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.update_status
    ADD CONSTRAINT update_status_client_id_fkey FOREIGN KEY (client_id) REFERENCES public.computer(id);


--
-- PostgreSQL database dump complete
--


