// The registry: one repository per aggregate, each the only writer of its tables, built
// together over one Db and one Redis (ids and locks): organizations and points of sale, KKMs,
// cashiers, nomenclature, cabinet users and groups, applications, service centres and grants.
import type { Redis } from 'ioredis';
import type { Db } from './db.js';
import { Cashiers } from './cashiers.js';
import { Kkms } from './kkms.js';
import { NomenclatureStore } from './nomenclature.js';
import { Orgs } from './orgs.js';
import { Users } from './users.js';
import { Applications } from './applications.js';
import { ServiceCentres } from './service-centres.js';
import { KkmEvents } from './kkm-events.js';

export class Registry {
  readonly users: Users;
  readonly orgs: Orgs;
  readonly kkms: Kkms;
  readonly cashiers: Cashiers;
  readonly nomenclature: NomenclatureStore;
  readonly applications: Applications;
  readonly serviceCentres: ServiceCentres;
  /** The events every KKM change records, forwarded to the tax authority. */
  readonly kkmEvents: KkmEvents;

  constructor(db: Db, redis: Redis, keyPrefix: string) {
    this.kkmEvents = new KkmEvents(db);
    this.users = new Users(db, redis, keyPrefix);
    this.orgs = new Orgs(db, redis, keyPrefix, this.users);
    this.kkms = new Kkms(db, redis, keyPrefix, this.orgs, this.kkmEvents);
    this.cashiers = new Cashiers(db, redis, keyPrefix, this.orgs);
    this.nomenclature = new NomenclatureStore(db, redis, keyPrefix, this.orgs);
    this.applications = new Applications(db, redis, keyPrefix, this.kkms);
    this.serviceCentres = new ServiceCentres(db, redis, keyPrefix, this.orgs);
  }
}
