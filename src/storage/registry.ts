// The registry: one repository per aggregate, each the only writer of its tables, built
// together over one Db and one Redis (ids and locks): organizations and points of sale, KKMs,
// cashiers, nomenclature, cabinet users and groups.
import type { Redis } from 'ioredis';
import type { Db } from './db.js';
import { Cashiers } from './cashiers.js';
import { Kkms } from './kkms.js';
import { NomenclatureStore } from './nomenclature.js';
import { Orgs } from './orgs.js';
import { Users } from './users.js';

export class Registry {
  readonly users: Users;
  readonly orgs: Orgs;
  readonly kkms: Kkms;
  readonly cashiers: Cashiers;
  readonly nomenclature: NomenclatureStore;

  constructor(db: Db, redis: Redis, keyPrefix: string) {
    this.users = new Users(db, redis, keyPrefix);
    this.orgs = new Orgs(db, redis, keyPrefix, this.users);
    this.kkms = new Kkms(db, redis, keyPrefix, this.orgs);
    this.cashiers = new Cashiers(db, redis, keyPrefix, this.orgs);
    this.nomenclature = new NomenclatureStore(db, redis, keyPrefix, this.orgs);
  }
}
